//! `BlobStore::put_stream` and `rename`: an upload streamed in without being held, all or nothing, then
//! moved under its call.

use bytes::Bytes;
use futures_util::StreamExt;
use shared::ports::{BlobStore, ByteStream, StreamPutError};
use std::sync::Arc;
use std::time::Duration;

/// `chunks` chunks of 1 MiB, each filled with its number, then `end` (nothing, or an error).
fn mebibytes(chunks: u8, end: Option<std::io::Error>) -> ByteStream<'static> {
    let parts = (0..chunks).map(|i| Ok(Bytes::from(vec![i; 1 << 20])));
    futures_util::stream::iter(parts.chain(end.map(Err))).boxed()
}

fn expected(chunks: u8) -> Vec<u8> {
    (0..chunks).flat_map(|i| vec![i; 1 << 20]).collect()
}

pub async fn blob_streams(blobs: Arc<dyn BlobStore>) {
    let folder = "staging/contract-stream/";
    let (small, large) = (format!("{folder}small"), format!("{folder}large"));
    assert_eq!(blobs.put_stream(&small, mebibytes(1, None)).await.unwrap(), 1 << 20);
    assert_eq!(blobs.get(&small).await.unwrap(), Some(expected(1)));
    // Larger than one part of a multipart upload (S3 holds 8 MiB at a time).
    assert_eq!(blobs.put_stream(&large, mebibytes(20, None)).await.unwrap(), 20 << 20);
    assert_eq!(blobs.get(&large).await.unwrap(), Some(expected(20)));

    // A stream that breaks off stores nothing, short or past a part, and leaves a blob it would replace.
    for (chunks, key) in [(2, format!("{folder}broken")), (12, format!("{folder}broken")), (12, small.clone())] {
        let end = std::io::Error::other("the client went away");
        match blobs.put_stream(&key, mebibytes(chunks, Some(end))).await {
            Err(StreamPutError::Stream(e)) => assert_eq!(e.to_string(), "the client went away"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(blobs.get(&format!("{folder}broken")).await.unwrap(), None);
    assert_eq!(blobs.get(&small).await.unwrap(), Some(expected(1)), "the blob it would have replaced stays");

    // A caller that stops waiting mid-stream (a dropped request) leaves nothing either.
    let stalled = mebibytes(3, None).chain(futures_util::stream::pending()).boxed();
    let gone = format!("{folder}gone");
    let abandoned = tokio::time::timeout(Duration::from_millis(300), blobs.put_stream(&gone, stalled));
    assert!(abandoned.await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut left = blobs.list(folder).await.unwrap();
    left.sort();
    assert_eq!(left, [large.clone(), small.clone()], "no half-written blob or temporary file is left");

    // Renamed under its call: gone from staging, replacing what the key held.
    let placed = "uploads/contract-stream/call+1.wav";
    blobs.put(placed, b"older".to_vec()).await.unwrap();
    blobs.rename(&large, placed).await.unwrap();
    assert_eq!(blobs.get(placed).await.unwrap(), Some(expected(20)));
    assert!(!blobs.exists(&large).await.unwrap());
    assert!(blobs.rename(&large, placed).await.is_err(), "nothing to move");
    for key in [placed, small.as_str()] {
        blobs.delete(key).await.unwrap();
    }
    assert!(blobs.list(folder).await.unwrap().is_empty());
}
