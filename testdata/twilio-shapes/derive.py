#!/usr/bin/env python3
"""Derives the request/response shape fixtures of this directory from Twilio's OpenAPI
description (../twilio/twilio_api_v2010.json). Run from the repository root:

    python3 testdata/twilio-shapes/derive.py

It writes operations.json (method, path, success status, required / array form parameters,
response property names) and one example body per resource (*.example.json) whose keys are
exactly the schema's properties and whose values are plausible, hand-chosen examples.
"""
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
SPEC = json.loads((HERE.parent / "twilio" / "twilio_api_v2010.json").read_text())
PREFIX = "/2010-04-01/Accounts/{AccountSid}"

OPS = {
    "CreateCall": ("post", "/Calls.json"),
    "ListCall": ("get", "/Calls.json"),
    "FetchCall": ("get", "/Calls/{Sid}.json"),
    "UpdateCall": ("post", "/Calls/{Sid}.json"),
    "ListConference": ("get", "/Conferences.json"),
    "CreateParticipant": ("post", "/Conferences/{ConferenceSid}/Participants.json"),
    "UpdateParticipant": ("post", "/Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
    "DeleteParticipant": ("delete", "/Conferences/{ConferenceSid}/Participants/{CallSid}.json"),
    "CreateCallRecording": ("post", "/Calls/{CallSid}/Recordings.json"),
    "UpdateCallRecording": ("post", "/Calls/{CallSid}/Recordings/{Sid}.json"),
}


def resolve(ref):
    node = SPEC
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def main():
    out = {}
    for op_id, (method, path) in OPS.items():
        op = SPEC["paths"][PREFIX + path][method]
        assert op["operationId"] == op_id, (op_id, op["operationId"])
        entry = {"method": method.upper(), "path": PREFIX + path}
        ok = sorted(int(c) for c in op["responses"] if c.startswith("2"))
        entry["success"] = ok
        body = op.get("requestBody", {}).get("content", {})
        form = body.get("application/x-www-form-urlencoded", {}).get("schema")
        if form:
            form = resolve(form["$ref"]) if "$ref" in form else form
            props = form.get("properties", {})
            entry["required"] = sorted(form.get("required", []))
            entry["array_params"] = sorted(k for k, v in props.items() if v.get("type") == "array")
            entry["params"] = sorted(props)
        query = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
        if query:
            entry["query"] = sorted(query)
        for code, resp in op["responses"].items():
            content = resp.get("content", {}).get("application/json", {}).get("schema")
            if not content:
                continue
            schema = resolve(content["$ref"]) if "$ref" in content else content
            entry.setdefault("response", {})[code] = sorted(schema.get("properties", {}))
        out[op_id] = entry
    (HERE / "operations.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
