DROP TABLE cdr;
DROP TABLE sounds;
DROP TABLE recordings;
DROP TABLE call_events;
DROP TABLE call_legs;
DROP TABLE calls;
