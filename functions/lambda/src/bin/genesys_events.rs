//! Lambda: Genesys Cloud notifications from the Amazon EventBridge source integration, mapped and ingested.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve_genesys_events(env!("CARGO_BIN_NAME")).await
}
