//! Lambda: batch jobs from SQS (uploads → transcript → analysis → artifacts).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve_batch_worker(env!("CARGO_BIN_NAME")).await
}
