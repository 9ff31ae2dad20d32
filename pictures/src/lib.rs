//! Pictures people upload, cover art and avatars alike: the type is read
//! from the bytes and must match what the client declared; the dimensions
//! are read from the header and refused past [`MAX_SIDE`] before anything
//! is decoded; the decode runs under a memory limit, off the async workers,
//! at most [`DECODERS`] at a time and for at most [`DEADLINE`]; the result
//! is made again as square JPEGs of fixed sizes (centre-cropped, turned
//! upright by its EXIF orientation). Nothing of the upload survives but its
//! pixels: no EXIF (a phone's GPS position), no comments, no trailing bytes
//! (HTML after a PNG), and the original is never stored or served.

use std::io::Cursor;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

/// Largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 6000;
/// Most memory one decode may take (6000 x 6000 RGBA is 144 MB).
const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;
/// Decodes running at once in a process: each may take a core and 160 MB.
pub const DECODERS: usize = 2;
/// Longest a picture may take to be read and made again.
pub const DEADLINE: Duration = Duration::from_secs(5);

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(DECODERS)));

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PictureError {
    /// Not a PNG, JPEG or WebP, or not what `Content-Type` said.
    #[error("{0}")]
    Unsupported(String),
    /// Wider or taller than [`MAX_SIDE`].
    #[error("the picture may be at most {MAX_SIDE} x {MAX_SIDE} pixels; this one is {0} x {1}")]
    TooManyPixels(u32, u32),
    /// Damaged, or past the memory limit while decoding.
    #[error("the picture cannot be read: {0}")]
    Unreadable(String),
    /// Reading it took longer than [`DEADLINE`].
    #[error("the picture took too long to read; send a smaller one")]
    TooSlow,
    /// Every decoder stayed busy for the whole deadline.
    #[error("pictures are being processed for others; try again shortly")]
    Busy,
}

impl PictureError {
    /// The stable code of the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            PictureError::Unsupported(_)
            | PictureError::TooManyPixels(..)
            | PictureError::Unreadable(_) => "unsupported_image",
            PictureError::TooSlow => "picture_too_slow",
            PictureError::Busy => "pictures_busy",
        }
    }

    /// The HTTP status it answers: 415 for what is not a picture we take,
    /// 422 for one too costly to read, 503 while every decoder is busy.
    pub fn http_status(&self) -> u16 {
        match self {
            PictureError::TooSlow => 422,
            PictureError::Busy => 503,
            _ => 415,
        }
    }
}

/// The format of `bytes`, checked against the declared `Content-Type`.
fn format_of(bytes: &[u8], declared: &str) -> Result<ImageFormat, PictureError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => f,
        _ => {
            return Err(PictureError::Unsupported(
                "the picture must be a PNG, JPEG or WebP image".into(),
            ));
        }
    };
    let kind = format.to_mime_type();
    let declared = declared.split(';').next().unwrap_or_default().trim();
    if !declared.eq_ignore_ascii_case(kind) {
        return Err(PictureError::Unsupported(format!(
            "the body is {kind} but Content-Type says {declared:?}"
        )));
    }
    Ok(format)
}

/// Checks type and dimensions from the header alone (no pixel is decoded):
/// a 60000 x 60000 PNG of a few bytes is refused here at once.
pub fn inspect(bytes: &[u8], declared: &str) -> Result<(u32, u32), PictureError> {
    let format = format_of(bytes, declared)?;
    let reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| PictureError::Unreadable(e.to_string()))?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(PictureError::TooManyPixels(w, h));
    }
    if w == 0 || h == 0 {
        return Err(PictureError::Unreadable("the picture has no pixels".into()));
    }
    Ok((w, h))
}

/// Decodes `bytes` (after [`inspect`]) and makes a square JPEG of each of
/// `sizes` (largest first is fastest: each smaller one is made from the
/// one before). Blocking CPU work: see [`squares`].
pub fn squares_now(
    bytes: &[u8],
    declared: &str,
    sizes: &[u32],
) -> Result<Vec<(u32, Vec<u8>)>, PictureError> {
    inspect(bytes, declared)?;
    let format = format_of(bytes, declared)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => {
            PictureError::Unreadable("it needs more memory than a picture may take".into())
        }
        other => PictureError::Unreadable(other.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);

    let mut sorted = sizes.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    // Centre-cropped to a square first, then brought down: a cheap box
    // filter to twice the largest size, then Lanczos for the last step
    // (a 6000 px side is 100 times the work of Lanczos all the way).
    let side = image.width().min(image.height());
    let mut current = image.crop_imm(
        (image.width() - side) / 2,
        (image.height() - side) / 2,
        side,
        side,
    );
    drop(image);
    let mut out = Vec::with_capacity(sorted.len());
    for size in sorted {
        if current.width() > size * 2 {
            current = current.thumbnail_exact(size * 2, size * 2);
        }
        let square = current
            .resize_exact(size, size, FilterType::Lanczos3)
            .to_rgb8();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
            .encode_image(&square)
            .map_err(|e| PictureError::Unreadable(format!("it cannot be encoded: {e}")))?;
        out.push((size, jpeg));
        current = DynamicImage::ImageRgb8(square);
    }
    out.sort_unstable_by_key(|(size, _)| sizes.iter().position(|s| s == size));
    Ok(out)
}

/// [`squares_now`] off the async workers, one of at most [`DECODERS`], and
/// answered within [`DEADLINE`] (a decode past it is left to finish on its
/// thread, still holding its slot, so they cannot pile up).
pub async fn squares(
    bytes: impl AsRef<[u8]> + Send + 'static,
    declared: String,
    sizes: &'static [u32],
) -> Result<Vec<(u32, Vec<u8>)>, PictureError> {
    // Cheap checks first, on the request's own task.
    inspect(bytes.as_ref(), &declared)?;
    let work = async {
        let slot = SLOTS
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PictureError::Busy)?;
        let started = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            squares_now(bytes.as_ref(), &declared, sizes)
        });
        started
            .await
            .map_err(|_| PictureError::Unreadable("the decoder stopped".into()))?
    };
    match tokio::time::timeout(DEADLINE, work).await {
        Ok(result) => result,
        Err(_) => Err(PictureError::TooSlow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
        });
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap_or_else(|e| unreachable!("{e}"));
        out
    }

    /// A PNG whose header claims `w` x `h` (its data is one pixel's).
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut out = png(1, 1);
        // IHDR follows the signature, its length and its type.
        out[16..20].copy_from_slice(&w.to_be_bytes());
        out[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32fast::hash(&out[12..29]);
        out[29..33].copy_from_slice(&crc.to_be_bytes());
        out
    }

    #[test]
    fn sizes_come_out_square_in_the_order_asked() {
        let out = squares_now(&png(640, 480), "image/png", &[100, 300, 600]);
        let out = out.unwrap_or_else(|e| unreachable!("{e}"));
        let sides: Vec<(u32, u32, u32)> = out
            .iter()
            .map(|(s, jpeg)| {
                let img = image::load_from_memory(jpeg).unwrap_or_else(|e| unreachable!("{e}"));
                (*s, img.width(), img.height())
            })
            .collect();
        assert_eq!(
            sides,
            vec![(100, 100, 100), (300, 300, 300), (600, 600, 600)]
        );
    }

    #[test]
    fn huge_headers_are_refused_before_decoding() {
        let bomb = png_header(60_000, 60_000);
        assert_eq!(
            inspect(&bomb, "image/png"),
            Err(PictureError::TooManyPixels(60_000, 60_000))
        );
        assert!(matches!(
            inspect(&png_header(100, 100), "image/png"),
            Ok((100, 100))
        ));
    }

    #[test]
    fn the_declared_type_must_match_and_html_is_not_a_picture() {
        let p = png(4, 4);
        assert!(matches!(
            inspect(&p, "image/jpeg"),
            Err(PictureError::Unsupported(_))
        ));
        assert!(inspect(&p, "image/png; charset=x").is_ok());
        assert!(matches!(
            inspect(b"<html><script>alert(1)</script>", "image/png"),
            Err(PictureError::Unsupported(_))
        ));
        // PNG magic, then HTML: unreadable, never stored.
        let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
        fake.extend_from_slice(b"<html><script>alert(1)</script></html>");
        assert!(squares_now(&fake, "image/png", &[100]).is_err());
    }
}
