//! Lambda: the scheduled housekeeping pass (idle calls ended, expired ones deleted).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve_housekeeping(env!("CARGO_BIN_NAME")).await
}
