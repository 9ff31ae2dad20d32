//! Every S3 key and prefix the system writes, in one place. Writers build
//! their keys here, and erasure deletes the prefixes here, so an object
//! kind added later is either under a prefix erasure already deletes or
//! fails the unit test below.
//!
//! The layout: `originals/<cloudcast>/<upload>` (the uploaded file),
//! `uploads/<upload>/tail-<id>` (bytes of an unfinished upload past its
//! last full part), `media/<cloudcast>/<version>/` (renditions and
//! waveform of one published version), `pictures/<cloudcast>/<version>/`
//! (cover picture sizes), `avatars/<user>/<id>` (and the logos of the
//! user's apps, `avatars/<user>/apps/<app>/`),
//! `exports/<user>/<export>.zip`.

use uuid::Uuid;

/// The uploaded original of `cloudcast`, written by upload `upload`.
pub fn original(cloudcast: Uuid, upload: Uuid) -> String {
    format!("originals/{cloudcast}/{upload}")
}

/// A fresh tail object of an unfinished upload.
pub fn upload_tail(upload: Uuid, tail: Uuid) -> String {
    format!("uploads/{upload}/tail-{tail}")
}

/// Everything one published version of a cloudcast's media holds.
pub fn media_version(cloudcast: Uuid, version: Uuid) -> String {
    format!("media/{cloudcast}/{version}/")
}

/// One rendition (`aac_128k`, ...) of a published version.
pub fn rendition(cloudcast: Uuid, version: Uuid, name: &str) -> String {
    format!("{}{name}.mp4", media_version(cloudcast, version))
}

/// The waveform overview (audiowaveform JSON) of a published version.
pub fn peaks(cloudcast: Uuid, version: Uuid) -> String {
    format!("{}peaks.json", media_version(cloudcast, version))
}

/// The fine waveform, for zooming (audiowaveform `.dat`), of a published version.
pub fn peaks_fine(cloudcast: Uuid, version: Uuid) -> String {
    format!("{}peaks.dat", media_version(cloudcast, version))
}

/// One size of a user's avatar (a new version per upload, so caches never
/// go stale): a square JPEG made from the upload, never the upload itself.
pub fn avatar(user: Uuid, version: Uuid, size: u32) -> String {
    format!("avatars/{user}/{version}/{size}.jpg")
}

/// Everything of one version of a user's avatar.
pub fn avatar_version(user: Uuid, version: Uuid) -> String {
    format!("avatars/{user}/{version}/")
}

/// A version of a third-party app's logo (a square JPEG made from the
/// upload). Under its owner's avatars, so erasing the owner removes it.
pub fn app_logo(owner: Uuid, app: Uuid, version: Uuid) -> String {
    format!("{}{version}.jpg", app_logos(owner, app))
}

/// Every version of an app's logo.
pub fn app_logos(owner: Uuid, app: Uuid) -> String {
    format!("avatars/{owner}/apps/{app}/")
}

/// The sizes an avatar is kept in; the last is served unless one is asked.
pub const AVATAR_SIZES: [u32; 2] = [100, 300];

/// A background data export's archive.
pub fn export_archive(user: Uuid, export: Uuid) -> String {
    format!("exports/{user}/{export}.zip")
}

/// The sizes a cover picture is kept in (square, pixels per side).
pub const PICTURE_SIZES: [u32; 3] = [100, 300, 600];
/// The largest of them (what the data export holds).
pub const PICTURE_LARGEST: u32 = 600;

/// One size of a cloudcast's cover picture (a new version per upload, so
/// caches never go stale).
pub fn picture(cloudcast: Uuid, version: Uuid, size: u32) -> String {
    format!("pictures/{cloudcast}/{version}/{size}.jpg")
}

/// Every version of a cloudcast's cover picture.
pub fn picture_prefix(cloudcast: Uuid) -> String {
    format!("pictures/{cloudcast}/")
}

/// What deleting one cloudcast removes: its original, all its media and
/// its cover pictures.
pub fn cloudcast_prefixes(cloudcast: Uuid) -> [String; 3] {
    [
        format!("originals/{cloudcast}/"),
        format!("media/{cloudcast}/"),
        picture_prefix(cloudcast),
    ]
}

/// What erasing an account removes: its cloudcasts' originals and media,
/// its unfinished uploads' tails, its avatars and its data exports.
pub fn account_prefixes(user: Uuid, cloudcasts: &[Uuid], uploads: &[Uuid]) -> Vec<String> {
    let mut out = Vec::with_capacity(cloudcasts.len() * 3 + uploads.len() + 2);
    for id in cloudcasts {
        out.extend(cloudcast_prefixes(*id));
    }
    for id in uploads {
        out.push(format!("uploads/{id}/"));
    }
    out.push(format!("avatars/{user}/"));
    out.push(format!("exports/{user}/"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_an_account_lies_under_its_erasure_prefixes() {
        let (user, cc, up, v) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let prefixes = account_prefixes(user, &[cc], &[up]);
        let keys = [
            original(cc, up),
            upload_tail(up, Uuid::from_u128(5)),
            rendition(cc, v, "aac_128k"),
            peaks(cc, v),
            peaks_fine(cc, v),
            avatar(user, Uuid::from_u128(6), 100),
            export_archive(user, Uuid::from_u128(7)),
            picture(cc, v, 300),
            app_logo(user, Uuid::from_u128(8), v),
        ];
        for key in &keys {
            assert!(
                prefixes.iter().any(|p| key.starts_with(p.as_str())),
                "{key} is under no erasure prefix"
            );
        }
        // Another account's objects are under none of them.
        let other = Uuid::from_u128(9);
        for key in [
            avatar(other, v, 300),
            export_archive(other, v),
            original(other, up),
        ] {
            assert!(
                !prefixes.iter().any(|p| key.starts_with(p.as_str())),
                "{key}"
            );
        }
        assert_eq!(
            prefixes,
            [
                format!("originals/{cc}/"),
                format!("media/{cc}/"),
                format!("pictures/{cc}/"),
                format!("uploads/{up}/"),
                format!("avatars/{user}/"),
                format!("exports/{user}/"),
            ]
        );
    }

    #[test]
    fn a_cloudcasts_keys_lie_under_its_prefixes() {
        let (cc, v) = (Uuid::from_u128(2), Uuid::from_u128(4));
        let prefixes = cloudcast_prefixes(cc);
        for key in [
            original(cc, v),
            rendition(cc, v, "x"),
            peaks(cc, v),
            peaks_fine(cc, v),
            picture(cc, v, 100),
        ] {
            assert!(
                prefixes.iter().any(|p| key.starts_with(p.as_str())),
                "{key}"
            );
        }
        assert!(media_version(cc, v).starts_with(&prefixes[1]));
    }
}
