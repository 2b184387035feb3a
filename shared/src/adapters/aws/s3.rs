//! Blob store on S3: one object per key.

use crate::ports::{BlobStore, BlobVersion, StoreError};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("s3: {e}"))
}

impl S3BlobStore {
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

    async fn upload_url(&self, key: &str, expires: std::time::Duration) -> Result<Option<String>, StoreError> {
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires).map_err(backend)?;
        let req =
            self.client.put_object().bucket(&self.bucket).key(key).presigned(presigning).await.map_err(backend)?;
        Ok(Some(req.uri().to_string()))
    }
}
