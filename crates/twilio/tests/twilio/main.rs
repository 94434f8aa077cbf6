//! Integration tests of hookflash-twilio: one binary, a module per concern.

mod errors;
mod scenarios;
mod shapes;
mod signature;
mod support;
mod webhooks;
