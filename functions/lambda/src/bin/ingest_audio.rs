//! Lambda: POST /api/realtime/audio/chunk.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(functions::routes::ingest::audio_router).await
}
