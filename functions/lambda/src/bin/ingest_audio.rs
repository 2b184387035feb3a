//! Lambda: POST /api/realtime/audio/chunk.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::ingest::audio_router).await
}
