//! Test support shared by the listener's tests and benchmark (included by path).

/// Serves `app` on a fresh loopback port for the rest of the test; returns its `http://` base URL.
pub async fn serve(app: axum::Router) -> String {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    base
}
