//! The embeddable player (`/embed/{id}`, a page for other sites' iframes)
//! and oEmbed (`/oembed`), which tells other sites how to embed it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use cloudcast_core::ApiError;
use cloudcast_core::extract::ApiQuery;
use cloudcast_core::states::Visibility;

use crate::api::Visitor;
use crate::templates::{self, EmbedPage};
use crate::views::{Card, Cloudcast, Listing, Playlist};
use crate::visit::{Peer, absolute, by_id, by_slug, found, visitor};
use crate::{SiteError, SiteState, enc};

/// The player's natural size.
const WIDTH: u32 = 480;
const HEIGHT: u32 = 120;
/// A playlist's: the player and about five of its mixes beneath.
const PLAYLIST_HEIGHT: u32 = 300;

/// The iframe that embeds a cloudcast's player.
pub fn iframe(src: &str, title: &str, width: u32, height: u32) -> String {
    format!(
        "<iframe src=\"{}\" width=\"{width}\" height=\"{height}\" title=\"{}\" frameborder=\"0\" \
         allow=\"autoplay; encrypted-media\" loading=\"lazy\"></iframe>",
        attr(src),
        attr(title)
    )
}

/// Escapes text for a double-quoted HTML attribute.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `/embed/{id}`: the compact player, for any site to frame. It is always
/// anonymous: inside another site's page our cookies are not sent.
pub async fn embed(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer).anonymous();
    let cc = by_id(&state, &v, &id).await?;
    let page = EmbedPage {
        page_url: absolute(&state, &cc.url),
        beat_batch_secs: state.beat_batch_secs,
        cc,
        playlist: None,
    };
    // Its waveform's URL is signed for this visitor.
    Ok(framable(templates::for_visitor(templates::page(
        StatusCode::OK,
        &page,
    ))))
}

/// Meant to be framed by any site (`frame-ancestors *`).
fn framable(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::templates::EMBED_CSP),
    );
    resp
}

#[derive(Deserialize)]
pub struct SecretParam {
    secret: Option<String>,
}

/// The API's path of playlist `id` (with an unlisted one's `secret`).
fn playlist_path(id: uuid::Uuid, secret: Option<&str>) -> String {
    match secret {
        Some(s) => format!("/api/v1/playlists/{id}?secret={}", enc(s)),
        None => format!("/api/v1/playlists/{id}"),
    }
}

/// The embed player of the playlist whose page is `page` (the API's `url`:
/// its path, with an unlisted one's `?secret=`).
pub(crate) fn playlist_src(base: &str, page: &str) -> String {
    format!(
        "{base}/embed/playlist/{}",
        page.trim_start_matches("/playlists/")
    )
}

/// `/embed/playlist/{id}` (`?secret=` for an unlisted one): the compact
/// player going through a playlist, its mixes listed beneath. Anonymous,
/// as every embed.
pub async fn embed_playlist(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<SecretParam>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer).anonymous();
    let id: uuid::Uuid = id.parse().map_err(|_| SiteError::NotFound("playlist"))?;
    let pl: Playlist = found(&state, &playlist_path(id, q.secret.as_deref()), &v).await?;
    let first = pl
        .items
        .first()
        .ok_or(SiteError::NotFound("a mix in this playlist"))?;
    let cc = by_id(&state, &v, &first.id.to_string()).await?;
    let page = EmbedPage {
        page_url: absolute(&state, &pl.url),
        beat_batch_secs: state.beat_batch_secs,
        cc,
        playlist: Some((pl.title, absolute(&state, &pl.url), pl.items)),
    };
    // Its waveform's URL is signed for this visitor.
    Ok(framable(templates::for_visitor(templates::page(
        StatusCode::OK,
        &page,
    ))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OEmbedQuery {
    /// A page of this site: a cloudcast's (`/{username}/{slug}` or
    /// `/listen/{id}`), a profile (`/{username}`, its newest cloudcast) or a
    /// playlist's (`/playlists/{id}`, with `?secret=` for an unlisted one).
    #[param(max_length = 2048)]
    url: String,
    /// `json` (the only format served; `xml` answers 501).
    format: Option<String>,
    #[param(minimum = 1)]
    maxwidth: Option<u32>,
    #[param(minimum = 1)]
    maxheight: Option<u32>,
}

/// An oEmbed 1.0 `rich` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OEmbed {
    version: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    provider_name: &'static str,
    provider_url: String,
    title: String,
    author_name: String,
    author_url: String,
    /// The iframe of the embed player.
    html: String,
    width: u32,
    height: u32,
    thumbnail_url: String,
    thumbnail_width: u32,
    thumbnail_height: u32,
    cache_age: u32,
}

/// `GET /oembed`: how to embed a cloudcast (oEmbed 1.0, type `rich`).
#[utoipa::path(get, path = "/oembed", tag = "catalogue",
    summary = "oEmbed for a cloudcast's or a playlist's page",
    description = "For a public or unlisted cloudcast's page URL on this site (or a profile's: \
        its newest cloudcast; or a public or unlisted playlist's, which plays through it), the \
        iframe of its embed player, sized to fit `maxwidth` and `maxheight`.",
    params(OEmbedQuery),
    responses(
        (status = 200, description = "The oEmbed document", body = OEmbed),
        (status = 400, description = "`url` is missing or not a URL, or `format` is not an oEmbed format", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "Not a cloudcast (or a playlist with a mix in it) of this site that anyone may see", body = cloudcast_core::apidoc::ErrorBody),
        (status = 501, description = "`format=xml`: only JSON is served", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "The catalogue is unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(()))]
pub async fn oembed(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<OEmbedQuery>,
) -> Result<Json<OEmbed>, ApiError> {
    match q.format.as_deref() {
        None | Some("" | "json") => {}
        // oEmbed's own answer for a format it names but a provider lacks.
        Some("xml") => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "format_not_implemented",
                "only format=json is served",
            ));
        }
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_format",
                "format must be json",
            ));
        }
    }
    let url = url::Url::parse(q.url.trim())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_url", "url is not a URL"))?;
    let ours = url::Url::parse(&state.public_url).ok();
    let not_ours = || ApiError::not_found("cloudcast");
    if ours.as_ref().map(|o| o.origin()) != Some(url.origin()) {
        return Err(not_ours());
    }
    let v = visitor(&headers, peer).anonymous();
    let width = q.maxwidth.map_or(WIDTH, |w| w.min(WIDTH));
    let base = &state.public_url;
    if let Some(pl) = shared_playlist(&state, &v, &url).await? {
        // The player and a few of its mixes beneath.
        let height = q
            .maxheight
            .map_or(PLAYLIST_HEIGHT, |h| h.min(PLAYLIST_HEIGHT));
        let src = playlist_src(base, &pl.url);
        return Ok(Json(OEmbed {
            version: "1.0",
            kind: "rich",
            provider_name: "Cloudcast",
            provider_url: base.to_string(),
            html: iframe(&src, &pl.title, width, height),
            author_url: format!("{base}/{}", pl.owner),
            thumbnail_url: pl
                .picture_urls
                .as_ref()
                .map(|p| absolute(&state, &p.large))
                .unwrap_or_else(|| format!("{base}/assets/cover.svg")),
            thumbnail_width: 600,
            thumbnail_height: 600,
            cache_age: 3600,
            title: pl.title,
            author_name: pl.owner,
            width,
            height,
        }));
    }
    let cc = match shared_cloudcast(&state, &v, &url).await {
        Ok(Some(cc)) => cc,
        Ok(None) | Err(SiteError::NotFound(_) | SiteError::Refused(..)) => return Err(not_ours()),
        Err(_) => {
            return Err(ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "catalogue_unavailable",
            ));
        }
    };
    // Private ones are the owner's alone, and this answer is for anyone.
    if cc.visibility == Visibility::Private {
        return Err(not_ours());
    }
    let height = q.maxheight.map_or(HEIGHT, |h| h.min(HEIGHT));
    let src = format!("{base}/embed/{}", cc.id);
    Ok(Json(OEmbed {
        version: "1.0",
        kind: "rich",
        provider_name: "Cloudcast",
        provider_url: base.to_string(),
        html: iframe(&src, &cc.title, width, height),
        author_url: format!("{base}/{}", cc.owner),
        thumbnail_url: absolute(&state, &cc.picture_urls.large),
        thumbnail_width: 600,
        thumbnail_height: 600,
        cache_age: 3600,
        title: cc.title,
        author_name: cc.owner,
        width,
        height,
    }))
}

/// The playlist a shared `/playlists/{id}` page of this site is, if anyone
/// may see it and a mix in it plays (a private one is its owner's alone,
/// and this answer is for anyone).
async fn shared_playlist(
    state: &SiteState,
    v: &Visitor,
    url: &url::Url,
) -> Result<Option<Playlist>, ApiError> {
    let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    let ["playlists", id] = segments.as_slice() else {
        return Ok(None);
    };
    let not_found = || ApiError::not_found("playlist");
    let id: uuid::Uuid = id.parse().map_err(|_| not_found())?;
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned());
    match found::<Playlist>(state, &playlist_path(id, secret.as_deref()), v).await {
        Ok(p) if !p.items.is_empty() => Ok(Some(p)),
        Ok(_) | Err(SiteError::NotFound(_) | SiteError::Refused(..)) => Err(not_found()),
        Err(_) => Err(ApiError::server(
            StatusCode::SERVICE_UNAVAILABLE,
            "catalogue_unavailable",
        )),
    }
}

/// The cloudcast a shared page of this site plays: a cloudcast's page
/// (`/{username}/{slug}`, a former slug followed once; `/listen/{id}`), or a
/// profile (`/{username}`: its newest cloudcast). `None`: not such a page.
async fn shared_cloudcast(
    state: &SiteState,
    v: &Visitor,
    url: &url::Url,
) -> Result<Option<Cloudcast>, SiteError> {
    let mut url = url.clone();
    // The address as given, then (a renamed cloudcast) where it moved.
    for _ in 0..2 {
        let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
        let secret = url
            .query_pairs()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v.into_owned());
        let moved = match segments.as_slice() {
            ["listen", id] => return by_id(state, v, id).await.map(Some),
            [user, slug] => match by_slug(state, v, user, slug, secret.as_deref()).await? {
                Ok(cc) => return Ok(Some(cc)),
                Err(moved) => moved,
            },
            [user] if !user.is_empty() => {
                let path = format!("/api/v1/users/{}/cloudcasts?limit=1", enc(user));
                let newest: Listing<Card> = found(state, &path, v).await?;
                return match newest.items.first() {
                    Some(card) => by_id(state, v, &card.id.to_string()).await.map(Some),
                    None => Ok(None),
                };
            }
            _ => return Ok(None),
        };
        match url.join(&moved) {
            Ok(to) => url = to,
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_embeds_by_its_page_keeping_its_secret() {
        assert_eq!(
            playlist_src("https://c.example", "/playlists/7?secret=s"),
            "https://c.example/embed/playlist/7?secret=s"
        );
        assert_eq!(
            playlist_src("https://c.example", "/playlists/7"),
            "https://c.example/embed/playlist/7"
        );
    }

    #[test]
    fn iframe_attributes_are_escaped() {
        let html = iframe("https://x/embed/1", "A \"quoted\" <mix>", 480, 120);
        assert!(
            html.contains("title=\"A &quot;quoted&quot; &lt;mix&gt;\""),
            "{html}"
        );
        assert!(html.contains("width=\"480\" height=\"120\""));
    }
}
