//! One module per `klaxon` command (its arguments, what it prints); the
//! work the integration tests drive is in the library, `klaxon_cli`.

pub mod config;
pub mod dlq;
pub mod doctor;
pub mod events;
pub mod incidents;
pub mod oncall;
pub mod test_notify;

use klaxon_cli::names::StackNames;

use crate::StackArgs;

/// The stack's resource names, with the tables the options name.
pub fn names(stack: &StackArgs) -> StackNames {
    StackNames {
        incidents_table: stack.incidents(),
        config_table: stack.config(),
        ..StackNames::new(stack.name())
    }
}
