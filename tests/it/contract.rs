//! The store contract (`klaxon::testing::contract`) against DynamoDB in the
//! emulator: the same cases the in-memory fake passes, each on a new stack.

use crate::common::store_of_a_new_stack;

klaxon::store_contract_tests!(store_of_a_new_stack().await);
