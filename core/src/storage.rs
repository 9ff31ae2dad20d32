//! Object storage through the S3 API (aws-sdk-s3), so the same code runs
//! against AWS S3, MinIO, Garage, R2 or the embedded endpoint.
//!
//! With no endpoint configured, [`EmbeddedS3`] serves a local folder over the
//! S3 protocol on loopback (s3s-fs) and the client talks to it over HTTP like
//! to any other endpoint: dev, tests and production share one code path.

use std::net::SocketAddr;
use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::config::S3Config;
use crate::error::CoreError;

#[derive(Clone)]
pub struct Storage {
    client: Client,
    bucket: String,
}

fn storage_err<E, R>(e: SdkError<E, R>) -> CoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    CoreError::Storage(DisplayErrorContext(e).to_string())
}

/// An object's bytes with the total size of the object they were cut from.
pub struct ObjectRange {
    pub body: ByteStream,
    pub total_size: u64,
}

impl Storage {
    pub fn new(cfg: &S3Config, endpoint: &str) -> Storage {
        let creds = Credentials::new(&cfg.access_key, &cfg.secret_key, None, None, "cloudcast");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .endpoint_url(endpoint)
            .force_path_style(true)
            .build();
        Storage {
            client: Client::from_conf(conf),
            bucket: cfg.bucket.clone(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket unless it exists.
    pub async fn ensure_bucket(&self) -> Result<(), CoreError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let already = e.as_service_error().is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                });
                if already { Ok(()) } else { Err(storage_err(e)) }
            }
        }
    }

    /// Cheap liveness check for `/healthz`.
    pub async fn ping(&self) -> Result<(), CoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(storage_err)
    }

    pub async fn put_bytes(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), CoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(storage_err)?;
        Ok(())
    }

    /// Streams a local file to an object without loading it in memory.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), CoreError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| CoreError::Storage(format!("reading {}: {e}", path.display())))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(storage_err)?;
        Ok(())
    }

    pub async fn get_bytes(&self, key: &str) -> Result<Bytes, CoreError> {
        let data = self
            .get_stream(key)
            .await?
            .body
            .collect()
            .await
            .map_err(|e| CoreError::Storage(e.to_string()))?;
        Ok(data.into_bytes())
    }

    /// A whole object as a stream (for downloads too large to hold).
    pub async fn get_stream(&self, key: &str) -> Result<ObjectRange, CoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| not_found_or(e, key))?;
        let total_size = out
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .unwrap_or(0);
        Ok(ObjectRange {
            body: out.body,
            total_size,
        })
    }

    /// Downloads an object to a local file, streaming.
    pub async fn get_to_file(&self, key: &str, path: &Path) -> Result<u64, CoreError> {
        let mut body = self.get_stream(key).await?.body;
        let mut file = tokio::fs::File::create(path).await?;
        let mut written = 0u64;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| CoreError::Storage(e.to_string()))?
        {
            written += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(written)
    }

    /// Ranged GET: `first..=last` bytes of the object.
    pub async fn get_range(
        &self,
        key: &str,
        first: u64,
        last: u64,
    ) -> Result<ObjectRange, CoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={first}-{last}"))
            .send()
            .await
            .map_err(|e| not_found_or(e, key))?;
        let total_size = out
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|t| t.parse().ok())
            .or_else(|| out.content_length().and_then(|l| u64::try_from(l).ok()))
            .unwrap_or(0);
        Ok(ObjectRange {
            body: out.body,
            total_size,
        })
    }

    /// A GET URL for `key` that works without credentials until it expires.
    pub async fn presign_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<String, CoreError> {
        let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl)
            .map_err(|e| CoreError::Storage(e.to_string()))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(storage_err)?;
        Ok(req.uri().to_string())
    }

    /// Deletes every object whose key starts with `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, CoreError> {
        let mut deleted = 0;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(storage_err)?;
            for obj in page.contents() {
                if let Some(key) = obj.key() {
                    self.delete(key).await?;
                    deleted += 1;
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(deleted),
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), CoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(storage_err)?;
        Ok(())
    }

    pub async fn create_multipart(&self, key: &str) -> Result<String, CoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(storage_err)?;
        out.upload_id
            .ok_or_else(|| CoreError::Storage("S3 returned no multipart upload id".into()))
    }

    /// Uploads one part and returns its ETag.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Bytes,
    ) -> Result<String, CoreError> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(storage_err)?;
        out.e_tag
            .ok_or_else(|| CoreError::Storage("S3 returned no ETag for a part".into()))
    }

    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> Result<(), CoreError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
                    .collect(),
            ))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map_err(storage_err)?;
        Ok(())
    }

    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), CoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(storage_err)?;
        Ok(())
    }
}

fn not_found_or<E, R>(e: SdkError<E, R>, key: &str) -> CoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(se) = &e {
        let status = format!("{:?}", se.raw());
        if status.contains("404") || e.to_string().contains("NoSuchKey") {
            return CoreError::NotFound(key.to_string());
        }
    }
    storage_err(e)
}

/// An S3 endpoint over a local folder, served on loopback.
pub struct EmbeddedS3 {
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl EmbeddedS3 {
    pub async fn start(cfg: &S3Config) -> Result<EmbeddedS3, CoreError> {
        std::fs::create_dir_all(&cfg.embedded_root)?;
        let fs = s3s_fs::FileSystem::new(&cfg.embedded_root)
            .map_err(|e| CoreError::Storage(format!("embedded S3 root: {e:?}")))?;
        let service = {
            let mut b = s3s::service::S3ServiceBuilder::new(fs);
            b.set_auth(s3s::auth::SimpleAuth::from_single(
                cfg.access_key.clone(),
                cfg.secret_key.clone(),
            ));
            b.build()
        };
        let listener = TcpListener::bind(cfg.embedded_listen).await?;
        let addr: SocketAddr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            loop {
                let (socket, _) = match listener.accept().await {
                    // Without it, Nagle plus delayed ACKs stall small
                    // responses (a ranged GET's tail) by 40 ms.
                    Ok(c) => {
                        let _ = c.0.set_nodelay(true);
                        c
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "embedded S3 accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        tracing::info!(%addr, root = %cfg.embedded_root.display(), "embedded S3 endpoint started");
        Ok(EmbeddedS3 {
            endpoint: format!("http://{addr}"),
            task,
        })
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}
