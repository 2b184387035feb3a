//! Reading typed settings from the environment once, with errors that name the variable; secrets that
//! never show in logs.

pub mod env;
pub mod secret;
