//! Integration tests: Klaxon's real handlers and adapters against the local
//! AWS emulator (`AWS_ENDPOINT_URL`), each test in its own stack created
//! from `infra/template.yaml`.

mod common;
mod contract;
mod corpus;
mod escalation;
mod events;
mod faults;
mod formats;
mod iam;
mod incident_manager;
mod intake;
mod integrations;
mod notifications;
mod oncall;
mod operations;
mod replies;
mod routing;
mod rule_pattern;
mod self_test;
mod status_page;
mod storm;
mod sweep;
mod template;
mod voice;
