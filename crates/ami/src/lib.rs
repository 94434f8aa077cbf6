//! Asterisk Manager Interface (AMI) protocol and client.
