//! The cost model's parts: DynamoDB request units from item sizes, the metering proxy, the price table.
#![allow(dead_code)] // shared by the cost test binary only in part

pub mod capacity;
pub mod prices;
pub mod proxy;
