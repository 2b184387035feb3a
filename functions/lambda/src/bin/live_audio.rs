//! Lambda: GET /api/realtime/calls/{call_id}/audio and .../audio/meta.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::serve(env!("CARGO_BIN_NAME"), functions::routes::live_audio::live_audio_router).await
}
