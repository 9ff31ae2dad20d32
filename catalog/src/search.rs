//! Search over the catalogue with PostgreSQL's own engines: full-text
//! search (`cloudcasts.search_doc`: title and owner weighted highest, then
//! tags, tracklist artists and titles, then the description), prefix
//! matching of the last word for as-you-type, and typo tolerance by
//! trigram similarity (`pg_trgm`): for cloudcasts, when the words as typed
//! match nothing ("did you mean"), since similarity costs far more per row
//! than ranked full text. Minimum lengths keep every query on an index: no
//! query scans the catalogue.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::MaybeUser;
use cloudcast_core::extract::ApiQuery;
use cloudcast_core::page::{self, Page};
use cloudcast_core::visibility;

use crate::cards::{CARD_COLUMNS, CloudcastCard};
use crate::lists::Keyed;
use crate::tags::{TagView, with_url};
use crate::{CatalogError, CatalogState};

/// Shortest query at all, and shortest last word matched as a prefix: a
/// shorter prefix matches too much of the catalogue to rank.
pub const MIN_QUERY_CHARS: usize = 2;
pub const MIN_PREFIX_CHARS: usize = 3;
/// Shortest query also matched with typos (trigrams need three characters
/// to mean anything).
pub const MIN_TYPO_CHARS: usize = 4;
/// Words of a query beyond this are ignored.
const MAX_WORDS: usize = 8;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchType {
    #[default]
    Cloudcast,
    User,
    Tag,
    Playlist,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for: at least 2 characters.
    #[param(min_length = 2, max_length = 100)]
    pub q: String,
    /// `cloudcast` (the default), `user`, `tag` or `playlist`.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub kind: Option<SearchType>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// A user in search results.
#[derive(Debug, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UserCard {
    pub username: String,
    /// Their profile page.
    #[sqlx(skip)]
    pub url: String,
    /// Public cloudcasts.
    pub cloudcasts: i64,
    /// `null` for a minor (their follow lists are never public).
    pub followers: Option<i64>,
    #[serde(skip)]
    pub rank: f64,
}

/// Results of one type: the list of that type is present, the others not.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SearchResults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudcasts: Option<Vec<CloudcastCard>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<UserCard>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playlists: Option<Vec<crate::playlists::PlaylistSummary>>,
    pub next_cursor: Option<String>,
}

/// A query made ready for PostgreSQL.
#[derive(Debug, PartialEq)]
pub struct Prepared {
    /// `to_tsquery('simple', ..)` input: the words ANDed, the last one a
    /// prefix when long enough. Words are letters and digits only, so
    /// nothing in it is tsquery syntax.
    pub tsquery: String,
    /// The whole query, lower case, for similarity.
    pub text: String,
    /// `text` as a LIKE prefix pattern (wildcards escaped).
    pub like_prefix: String,
    pub typos: bool,
}

pub fn prepare(q: &str) -> Result<Prepared, CatalogError> {
    let text = q.trim().to_lowercase();
    if text.chars().count() < MIN_QUERY_CHARS {
        return Err(CatalogError::Query(format!(
            "at least {MIN_QUERY_CHARS} characters"
        )));
    }
    if text.chars().count() > 100 || text.chars().any(char::is_control) {
        return Err(CatalogError::Query(
            "at most 100 characters, no control characters".into(),
        ));
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    let Some((last, rest)) = words.split_last() else {
        return Err(CatalogError::Query("needs a letter or digit".into()));
    };
    let mut parts: Vec<String> = rest.iter().map(|w| w.to_string()).collect();
    if last.chars().count() >= MIN_PREFIX_CHARS {
        parts.push(format!("{last}:*"));
    } else {
        parts.push(last.to_string());
    }
    let like_prefix = format!(
        "{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    Ok(Prepared {
        tsquery: parts.join(" & "),
        typos: text.chars().count() >= MIN_TYPO_CHARS,
        like_prefix,
        text,
    })
}

/// One page of cloudcast hits: ranked full text, or (`typo`) titles by
/// trigram word similarity; after `after` (rank, id) in that order.
async fn cloudcast_hits(
    pool: &sqlx::PgPool,
    p: &Prepared,
    typo: bool,
    after: Option<(f64, Uuid)>,
    fetch: i64,
) -> Result<Vec<Keyed>, CatalogError> {
    let hits = if typo {
        "SELECT c.id, word_similarity($1, lower(c.title))::float8 AS rank
           FROM cloudcasts c WHERE {listed} AND lower(c.title) %> $1"
    } else {
        "SELECT c.id, ts_rank(c.search_doc, q.tsq)::float8 AS rank
           FROM cloudcasts c, (SELECT to_tsquery('simple', $1) AS tsq) q
          WHERE {listed} AND c.search_doc @@ q.tsq"
    }
    .replace("{listed}", &visibility::sql_listed("c"));
    let keyset = if after.is_some() {
        " WHERE (rank, id) < ($3, $4)"
    } else {
        ""
    };
    let sql = format!(
        "WITH hits AS ({hits}),
         top AS (SELECT id, rank FROM hits{keyset} ORDER BY rank DESC, id DESC LIMIT $2)
         SELECT {CARD_COLUMNS}, NULL::timestamptz AS key_ts, NULL::bigint AS key_n,
                top.rank AS key_f
           FROM top JOIN cloudcasts c ON c.id = top.id JOIN users u ON u.id = c.owner_id
          ORDER BY top.rank DESC, c.id DESC"
    );
    let mut query = sqlx::query_as::<_, Keyed>(&sql)
        // Planned for these words each time: a generic plan cannot know
        // how many rows a query matches, and picks badly.
        .persistent(false)
        .bind(if typo { &p.text } else { &p.tsquery })
        .bind(fetch);
    if let Some((r, id)) = after {
        query = query.bind(r).bind(id);
    }
    Ok(query.fetch_all(pool).await?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum SearchKey {
    /// Ranks as `f64::to_bits`, exact through JSON.
    Cloudcast(u64, Uuid),
    /// A page of typo matches (the full text matched nothing).
    CloudcastTypo(u64, Uuid),
    User(u64, String),
    Tag(u64, String),
    Playlist(u64, Uuid),
}

/// `GET /api/v1/search?q=&type=cloudcast|user|tag|playlist`
#[utoipa::path(get, path = "/api/v1/search", tag = "catalogue", operation_id = "search",
    summary = "Search cloudcasts (title, description, tags, tracklist, owner), users, tags or public playlists (title, description)",
    description = "Ranked full-text search; the last word also matches as a prefix from 3 characters. Queries of 4 characters or more also match usernames and tags with typos, and cloudcast titles with typos when the words as typed match nothing. Public, ready, published cloudcasts only.",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of results of the type asked", body = SearchResults),
        (status = 400, description = "A query too short or too long, or a bad type, limit or cursor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn search(
    State(state): State<CatalogState>,
    MaybeUser(viewer): MaybeUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchResults>, CatalogError> {
    let p = prepare(&q.q)?;
    let page: Page<SearchKey> = Page::new(q.limit, q.cursor.as_deref())?;
    let (fetch, limit) = (page.fetch(), page.limit);
    let mut out = SearchResults {
        cloudcasts: None,
        users: None,
        tags: None,
        playlists: None,
        next_cursor: None,
    };
    match q.kind.unwrap_or_default() {
        SearchType::Cloudcast => {
            // Full text first; the typo matching (trigram similarity on
            // titles, far dearer per row) only when the words as typed
            // match nothing. The cursor says which of the two a page is.
            let (typo, after) = match page.after {
                None => (None, None),
                Some(SearchKey::Cloudcast(r, id)) => (Some(false), Some((f64::from_bits(r), id))),
                Some(SearchKey::CloudcastTypo(r, id)) if p.typos => {
                    (Some(true), Some((f64::from_bits(r), id)))
                }
                Some(_) => return Err(page::PageError::Cursor.into()),
            };
            let mut rows = Vec::new();
            let mut typo_mode = typo.unwrap_or(false);
            if !typo_mode {
                rows = cloudcast_hits(&state.pool, &p, false, after, fetch).await?;
                typo_mode = rows.is_empty() && typo.is_none() && p.typos;
            }
            if typo_mode {
                rows = cloudcast_hits(&state.pool, &p, true, after, fetch).await?;
            }
            let (rows, next) = page::finish(rows, limit, |r| {
                let bits = r.key_f.unwrap_or(0.0).to_bits();
                if typo_mode {
                    SearchKey::CloudcastTypo(bits, r.card.id)
                } else {
                    SearchKey::Cloudcast(bits, r.card.id)
                }
            });
            out.cloudcasts = Some(
                rows.into_iter()
                    .map(|r| r.card.card(viewer, false))
                    .collect(),
            );
            out.next_cursor = next;
        }
        SearchType::User => {
            let after = match page.after {
                None => None,
                Some(SearchKey::User(r, name)) => Some((f64::from_bits(r), name)),
                Some(_) => return Err(page::PageError::Cursor.into()),
            };
            let typo = if p.typos {
                " OR lower(u.username) % $1"
            } else {
                ""
            };
            let keyset = if after.is_some() {
                " AND (rank < $4 OR (rank = $4 AND username > $5))"
            } else {
                ""
            };
            let sql = format!(
                "WITH hits AS (
                    SELECT u.id, u.username, u.is_minor,
                           (CASE WHEN lower(u.username) = $1 THEN 2
                                 WHEN lower(u.username) LIKE $2 THEN 1 ELSE 0 END
                            + similarity(lower(u.username), $1))::float8 AS rank
                      FROM users u
                     WHERE (lower(u.username) LIKE $2{typo}) AND {active}),
                 top AS (SELECT * FROM hits WHERE true{keyset}
                          ORDER BY rank DESC, username LIMIT $3)
                 SELECT top.username, top.rank,
                        (SELECT count(*) FROM cloudcasts c
                          WHERE c.owner_id = top.id AND {listed}) AS cloudcasts,
                        CASE WHEN top.is_minor THEN NULL ELSE
                          (SELECT count(*) FROM follows f JOIN users fu ON fu.id = f.follower_id
                            WHERE f.followee_id = top.id AND {public}) END AS followers
                   FROM top ORDER BY top.rank DESC, top.username",
                listed = visibility::sql_listed("c"),
                public = visibility::sql_public_activity("fu"),
                active = visibility::sql_account_active("u"),
            );
            let mut query = sqlx::query_as::<_, UserCard>(&sql)
                // Planned for these words each time: a generic plan cannot know
                // how many rows a query matches, and picks badly.
                .persistent(false)
                .bind(&p.text)
                .bind(&p.like_prefix)
                .bind(fetch);
            if let Some((r, name)) = after {
                query = query.bind(r).bind(name);
            }
            let rows = query.fetch_all(&state.pool).await?;
            let (rows, next) = page::finish(rows, limit, |u| {
                SearchKey::User(u.rank.to_bits(), u.username.clone())
            });
            out.users = Some(
                rows.into_iter()
                    .map(|mut u| {
                        u.url = format!("/{}", u.username);
                        u
                    })
                    .collect(),
            );
            out.next_cursor = next;
        }
        SearchType::Tag => {
            let after = match page.after {
                None => None,
                Some(SearchKey::Tag(r, tag)) => Some((f64::from_bits(r), tag)),
                Some(_) => return Err(page::PageError::Cursor.into()),
            };
            let typo = if p.typos { " OR tc.tag % $1" } else { "" };
            let keyset = if after.is_some() {
                " AND (rank < $4 OR (rank = $4 AND tag > $5))"
            } else {
                ""
            };
            let sql = format!(
                "WITH hits AS (
                    SELECT tc.tag, tc.cloudcasts,
                           (CASE WHEN tc.tag = $1 THEN 2 WHEN tc.tag LIKE $2 THEN 1 ELSE 0 END
                            + similarity(tc.tag, $1))::float8 AS rank
                      FROM tag_counts tc
                     WHERE (tc.tag LIKE $2{typo})
                       AND EXISTS (SELECT 1 FROM cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id
                                    WHERE t.tag = tc.tag AND {listed}))
                 SELECT tag, cloudcasts, rank FROM hits WHERE true{keyset}
                  ORDER BY rank DESC, tag LIMIT $3",
                listed = visibility::sql_listed("c"),
            );
            let mut query = sqlx::query_as::<_, (String, i64, f64)>(&sql)
                // Planned for these words each time: a generic plan cannot know
                // how many rows a query matches, and picks badly.
                .persistent(false)
                .bind(&p.text)
                .bind(&p.like_prefix)
                .bind(fetch);
            if let Some((r, tag)) = after {
                query = query.bind(r).bind(tag);
            }
            let rows = query.fetch_all(&state.pool).await?;
            let (rows, next) = page::finish(rows, limit, |(tag, _, r)| {
                SearchKey::Tag(r.to_bits(), tag.clone())
            });
            out.tags = Some(
                rows.into_iter()
                    .map(|(tag, cloudcasts, _)| {
                        with_url(TagView {
                            tag,
                            cloudcasts,
                            url: String::new(),
                        })
                    })
                    .collect(),
            );
            out.next_cursor = next;
        }
        SearchType::Playlist => {
            let after = match page.after {
                None => None,
                Some(SearchKey::Playlist(r, id)) => Some((f64::from_bits(r), id)),
                Some(_) => return Err(page::PageError::Cursor.into()),
            };
            let keyset = if after.is_some() {
                " AND (rank < $3 OR (rank = $3 AND id > $4))"
            } else {
                ""
            };
            // Public ones only, on the partial index; who may list them
            // (the owner's account shown) is checked with the summaries.
            let sql = format!(
                "SELECT id, rank FROM (
                    SELECT p.id, ts_rank({doc}, to_tsquery('simple', $1))::float8 AS rank
                      FROM playlists p
                     WHERE p.visibility = '{public}' AND {doc} @@ to_tsquery('simple', $1)) hits
                  WHERE true{keyset} ORDER BY rank DESC, id LIMIT $2",
                doc = crate::playlists::SEARCH_DOC,
                public = cloudcast_core::states::Visibility::Public.as_str(),
            );
            let mut query = sqlx::query_as::<_, (Uuid, f64)>(&sql)
                .persistent(false)
                .bind(&p.tsquery)
                .bind(fetch);
            if let Some((r, id)) = after {
                query = query.bind(r).bind(id);
            }
            let rows = query.fetch_all(&state.pool).await?;
            let (rows, next) =
                page::finish(rows, limit, |(id, r)| SearchKey::Playlist(r.to_bits(), *id));
            let ids: Vec<Uuid> = rows.into_iter().map(|(id, _)| id).collect();
            out.playlists = Some(crate::playlists::listed_summaries(&state, &ids, viewer).await?);
            out.next_cursor = next;
        }
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_safe_tsqueries() {
        let p = prepare("  Deep HOUSE sess ").expect("query");
        assert_eq!(p.tsquery, "deep & house & sess:*");
        assert_eq!(p.text, "deep house sess");
        assert!(p.typos);
        // tsquery syntax is split away, never passed through.
        let p = prepare("a & !b | c:* (d)").expect("query");
        assert_eq!(p.tsquery, "a & b & c & d");
        // A short last word is matched whole, not as a prefix.
        assert_eq!(prepare("dj").expect("query").tsquery, "dj");
        assert!(!prepare("dj").expect("query").typos);
        assert_eq!(prepare("50%_off").expect("q").like_prefix, "50\\%\\_off%");
    }

    #[test]
    fn too_short_or_empty_queries_are_refused() {
        assert!(matches!(prepare("a"), Err(CatalogError::Query(_))));
        assert!(matches!(prepare("  "), Err(CatalogError::Query(_))));
        assert!(matches!(prepare("!!"), Err(CatalogError::Query(_))));
        assert!(matches!(
            prepare(&"x".repeat(101)),
            Err(CatalogError::Query(_))
        ));
    }
}
