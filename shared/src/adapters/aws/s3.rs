//! Blob store on S3: one object per key.

use crate::ports::{BlobStore, BlobVersion, ByteStream as Chunks, StoreError, StreamPutError};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::StreamExt;

/// The part a streamed upload is held in before it is sent: S3's multipart parts must be at least 5 MiB
/// (all but the last), and a stream that ends within one part is sent as one `PutObject`.
const PART_BYTES: usize = 8 * 1024 * 1024;

pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("s3: {e}"))
}

/// Reads `body` until `PART_BYTES` have come or it ends; `(bytes, ended)`.
async fn next_part(body: &mut Chunks<'_>) -> Result<(Vec<u8>, bool), StreamPutError> {
    let mut part = Vec::new();
    while part.len() < PART_BYTES {
        match body.next().await {
            Some(chunk) => part.extend_from_slice(&chunk.map_err(StreamPutError::Stream)?),
            None => return Ok((part, true)),
        }
    }
    Ok((part, false))
}

/// `CopySource` for `key` in `bucket`: URL-encoded, as S3 requires.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl S3BlobStore {
    /// Sends `first` and the rest of `body` as the parts of multipart upload `id`, then completes it.
    async fn upload_parts(
        &self,
        key: &str,
        id: &str,
        first: Vec<u8>,
        body: &mut Chunks<'_>,
    ) -> Result<u64, StreamPutError> {
        let (mut part, mut ended, mut len) = (first, false, 0u64);
        let mut parts = Vec::new();
        loop {
            let number = parts.len() as i32 + 1;
            len += part.len() as u64;
            let sent = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(backend)?;
            parts
                .push(CompletedPart::builder().set_e_tag(sent.e_tag().map(str::to_string)).part_number(number).build());
            if ended {
                break;
            }
            (part, ended) = next_part(body).await?;
            if part.is_empty() {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(backend)?;
        Ok(len)
    }

    pub fn new(sdk: &aws_config::SdkConfig, settings: &super::AwsSettings) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(sdk).force_path_style(settings.endpoint_url.is_some()).build();
        Self { client: Client::from_conf(conf), bucket: settings.bucket.clone() }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Holds one part (`PART_BYTES`) at a time: a stream that ends within it is one `PutObject`, a longer
    /// one a multipart upload, aborted if the stream breaks off. (A Lambda's request body is at most 6 MB,
    /// so through the API it is always one part; the multipart path keeps the bound for any caller.) An
    /// abandoned future leaves an incomplete multipart upload, which the bucket's lifecycle rule ends.
    async fn put_stream(&self, key: &str, mut body: Chunks<'_>) -> Result<u64, StreamPutError> {
        let (first, ended) = next_part(&mut body).await?;
        if ended {
            let len = first.len() as u64;
            self.put(key, first).await?;
            return Ok(len);
        }
        let started = self.client.create_multipart_upload().bucket(&self.bucket).key(key).send().await;
        let id = started.map_err(backend)?.upload_id().map(str::to_string).ok_or_else(|| backend("no upload id"))?;
        let sent = self.upload_parts(key, &id, first, &mut body).await;
        if sent.is_err() {
            let aborted = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(&id).send();
            if let Err(e) = aborted.await {
                tracing::warn!(key, error = %backend(e), "could not abort a multipart upload");
            }
        }
        sent
    }

    /// A copy, then the source deleted (S3 has no rename; a copy is one request up to 5 GB).
    async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(copy_source(&self.bucket, from))
            .key(to)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        self.delete(from).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(backend)?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, StoreError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let etag = out.e_tag().ok_or_else(|| backend(format!("{key}: no ETag")))?.to_string();
                Ok(Some((out.body.collect().await.map_err(backend)?.into_bytes().to_vec(), BlobVersion(etag))))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    /// S3's conditional writes: `If-Match` the ETag read, or `If-None-Match: *` for a key read as absent.
    /// 412 says another write came first; 409 that one is under way; 404 that the object was deleted.
    async fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&BlobVersion>) -> Result<bool, StoreError> {
        let put = self.client.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(bytes));
        let put = match expected {
            Some(BlobVersion(etag)) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 404 | 409 | 412)) => Ok(false),
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(backend)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        Ok(keys)
    }

    fn presigns(&self) -> bool {
        true
    }

    async fn upload_url(&self, key: &str, expires: std::time::Duration) -> Result<Option<String>, StoreError> {
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires).map_err(backend)?;
        let req =
            self.client.put_object().bucket(&self.bucket).key(key).presigned(presigning).await.map_err(backend)?;
        Ok(Some(req.uri().to_string()))
    }

    /// S3 answers the presigned `GET` with the file's type and an inline disposition under its name (the
    /// `response-content-*` overrides are part of the signature, so a holder cannot change them).
    async fn download_url(
        &self,
        key: &str,
        expires: std::time::Duration,
        file: &crate::ports::delivery::FileMeta,
    ) -> Result<Option<String>, StoreError> {
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires).map_err(backend)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(&file.content_type)
            .response_content_disposition(file.inline_disposition())
            .presigned(presigning)
            .await
            .map_err(backend)?;
        Ok(Some(req.uri().to_string()))
    }
}
