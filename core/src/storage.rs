//! Object storage through the S3 API (aws-sdk-s3), so the same code runs
//! against AWS S3, MinIO, Garage, R2 or the embedded endpoint.
//!
//! With no endpoint configured, [`EmbeddedS3`] serves a local folder over the
//! S3 protocol on loopback (s3s-fs) and the client talks to it over HTTP like
//! to any other endpoint: dev, tests and production share one code path.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls;
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use axum::http::StatusCode;

use crate::config::S3Config;
use crate::error::ErrorCode;

#[derive(Clone)]
pub struct Storage {
    client: Client,
    bucket: String,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed S3 call. The message names the operation only; the SDK's error,
/// with the endpoint's answer, is the source (for logs, never for clients).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("object {key} not found in storage")]
    NotFound { key: String },
    #[error("object storage failed to {op}")]
    Failed {
        op: &'static str,
        #[source]
        source: BoxError,
    },
}

impl StorageError {
    fn failed(op: &'static str, source: impl Into<BoxError>) -> StorageError {
        StorageError::Failed {
            op,
            source: source.into(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }
}

impl ErrorCode for StorageError {
    fn code(&self) -> &'static str {
        match self {
            StorageError::NotFound { .. } => "not_found",
            StorageError::Failed { .. } => "storage_unavailable",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            StorageError::NotFound { .. } => StatusCode::NOT_FOUND,
            StorageError::Failed { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}
crate::impl_api_error!(StorageError);

/// The SDK's error with its whole context (the endpoint's code and message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SdkFailure(String);

fn sdk<E, R>(op: &'static str, e: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StorageError::failed(op, SdkFailure(DisplayErrorContext(e).to_string()))
}

/// Times one S3 call and counts its outcome.
async fn timed<T>(
    op: &'static str,
    fut: impl std::future::Future<Output = Result<T, StorageError>>,
) -> Result<T, StorageError> {
    let started = Instant::now();
    let result = fut.await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(StorageError::NotFound { .. }) => "not_found",
        Err(_) => "error",
    };
    crate::metrics::s3_call(op, outcome, started.elapsed());
    result
}

/// An object's bytes with the total size of the object they were cut from.
pub struct ObjectRange {
    pub body: ByteStream,
    pub total_size: u64,
}

impl Storage {
    pub fn new(cfg: &S3Config, endpoint: &str) -> Storage {
        let creds = Credentials::new(
            &cfg.access_key,
            cfg.secret_key.expose(),
            None,
            None,
            "cloudcast",
        );
        // rustls on ring, with the platform's trust store, for https
        // endpoints; plain http (a local endpoint) goes straight through.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
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
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
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
                if already {
                    Ok(())
                } else {
                    Err(sdk("create the bucket", e))
                }
            }
        }
    }

    /// Cheap liveness check for `/healthz`.
    pub async fn ping(&self) -> Result<(), StorageError> {
        timed("head_bucket", async {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk("reach the bucket", e))
        })
        .await
    }

    pub async fn put_bytes(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        timed("put", async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| sdk("store an object", e))?;
            Ok(())
        })
        .await
    }

    /// Streams a local file to an object without loading it in memory.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        timed("put", async {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| StorageError::failed("read the file to store", e))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| sdk("store an object", e))?;
            Ok(())
        })
        .await
    }

    pub async fn get_bytes(&self, key: &str) -> Result<Bytes, StorageError> {
        let data = self
            .get_stream(key)
            .await?
            .body
            .collect()
            .await
            .map_err(|e| StorageError::failed("read an object", e))?;
        Ok(data.into_bytes())
    }

    /// A whole object as a stream (for downloads too large to hold).
    pub async fn get_stream(&self, key: &str) -> Result<ObjectRange, StorageError> {
        let out = timed("get", async {
            self.client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| not_found_or(e, key))
        })
        .await?;
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
    pub async fn get_to_file(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let local = |e: std::io::Error| StorageError::failed("write the downloaded object", e);
        let mut body = self.get_stream(key).await?.body;
        let mut file = tokio::fs::File::create(path).await.map_err(local)?;
        let mut written = 0u64;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StorageError::failed("read an object", e))?
        {
            written += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.flush().await.map_err(local)?;
        file.sync_all().await.map_err(local)?;
        Ok(written)
    }

    /// Ranged GET: `first..=last` bytes of the object.
    pub async fn get_range(
        &self,
        key: &str,
        first: u64,
        last: u64,
    ) -> Result<ObjectRange, StorageError> {
        let out = timed("get_range", async {
            self.client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .range(format!("bytes={first}-{last}"))
                .send()
                .await
                .map_err(|e| not_found_or(e, key))
        })
        .await?;
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
    pub async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, StorageError> {
        let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl)
            .map_err(|e| StorageError::failed("presign a URL", e))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| sdk("presign a URL", e))?;
        Ok(req.uri().to_string())
    }

    /// Deletes every object whose key starts with `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError> {
        let mut deleted = 0;
        let mut token: Option<String> = None;
        loop {
            let page = timed("list", async {
                self.client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| sdk("list objects", e))
            })
            .await?;
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

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        timed("delete", async {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| sdk("delete an object", e))?;
            Ok(())
        })
        .await
    }

    pub async fn create_multipart(&self, key: &str) -> Result<String, StorageError> {
        let out = timed("create_multipart", async {
            self.client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| sdk("start a multipart upload", e))
        })
        .await?;
        out.upload_id.ok_or_else(|| {
            StorageError::failed(
                "start a multipart upload",
                SdkFailure("S3 returned no multipart upload id".into()),
            )
        })
    }

    /// Uploads one part and returns its ETag.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Bytes,
    ) -> Result<String, StorageError> {
        let out = timed("upload_part", async {
            self.client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(part_number)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| sdk("store a part", e))
        })
        .await?;
        out.e_tag.ok_or_else(|| {
            StorageError::failed(
                "store a part",
                SdkFailure("S3 returned no ETag for a part".into()),
            )
        })
    }

    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> Result<(), StorageError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
                    .collect(),
            ))
            .build();
        timed("complete_multipart", async {
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(completed)
                .send()
                .await
                .map_err(|e| sdk("complete a multipart upload", e))?;
            Ok(())
        })
        .await
    }

    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        timed("abort_multipart", async {
            self.client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
                .map_err(|e| sdk("abort a multipart upload", e))?;
            Ok(())
        })
        .await
    }
}

fn not_found_or<E, R>(e: SdkError<E, R>, key: &str) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(se) = &e {
        let status = format!("{:?}", se.raw());
        if status.contains("404") || e.to_string().contains("NoSuchKey") {
            return StorageError::NotFound {
                key: key.to_string(),
            };
        }
    }
    sdk("read an object", e)
}

/// An S3 endpoint over a local folder, served on loopback.
pub struct EmbeddedS3 {
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl EmbeddedS3 {
    pub async fn start(cfg: &S3Config) -> Result<EmbeddedS3, StorageError> {
        let setup = |e: std::io::Error| StorageError::failed("start the embedded endpoint", e);
        std::fs::create_dir_all(&cfg.embedded_root).map_err(setup)?;
        let fs = s3s_fs::FileSystem::new(&cfg.embedded_root).map_err(|e| {
            StorageError::failed(
                "start the embedded endpoint",
                SdkFailure(format!("embedded S3 root: {e:?}")),
            )
        })?;
        let service = {
            let mut b = s3s::service::S3ServiceBuilder::new(fs);
            b.set_auth(s3s::auth::SimpleAuth::from_single(
                cfg.access_key.clone(),
                cfg.secret_key.expose().to_string(),
            ));
            b.build()
        };
        let listener = TcpListener::bind(cfg.embedded_listen)
            .await
            .map_err(setup)?;
        let addr: SocketAddr = listener.local_addr().map_err(setup)?;
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
