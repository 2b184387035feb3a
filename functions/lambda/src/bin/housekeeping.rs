//! Lambda: the scheduled housekeeping pass (idle calls ended, expired ones deleted).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve_housekeeping().await
}
