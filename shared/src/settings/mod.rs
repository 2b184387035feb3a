//! Reading typed settings from the environment (and a `.env` file under it) once, with errors that name the
//! variable; secrets that never show in logs.

pub mod dotenv;
pub mod env;
pub mod retired;
pub mod secret;
