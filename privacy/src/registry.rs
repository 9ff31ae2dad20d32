//! Every table the system keeps, and every other place that holds data
//! about a person, in one list: whether it names anyone, and if it does,
//! how it is exported (the columns: never a secret, so hashes, tokens and
//! keys are listed by their metadata only), how it is erased, and how long
//! it is kept. The export walks it (`export.rs`), the erasure runs its
//! statements (`erasure.rs`), and `docs/privacy.md`'s table of what each
//! store keeps is drawn from it ([`retention_markdown`]). A test lists the
//! live schemas of PostgreSQL and ClickHouse (one server and a cluster) and
//! fails naming any table not declared here, personal or not, and checks
//! the declared erasures against the foreign keys and columns themselves.

/// Where a table lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Postgres,
    /// A table of the analytics schema (in a cluster its `{name}_local`
    /// tables too; materialized views and plain views included).
    Clickhouse,
}

/// What a table holds.
#[derive(Debug, Clone, Copy)]
pub enum Data {
    /// About no one in particular, and why.
    Nobody(&'static str),
    /// About people.
    Personal {
        /// How a person gets their rows (every way, in order).
        export: &'static [Export],
        /// How their rows go when they leave.
        erase: Erase,
        /// How long rows are kept (the retention table's words).
        kept: &'static str,
    },
}

/// How a person's rows leave in their export.
#[derive(Debug, Clone, Copy)]
pub enum Export {
    /// A section of `account.json`: its name, one object or a list, and the
    /// SQL selecting the user's rows with `$1` = the user's id.
    Json {
        section: &'static str,
        one: bool,
        sql: &'static str,
    },
    /// A Parquet file: its name and the ClickHouse SQL with `?` = the
    /// user's id.
    Parquet {
        file: &'static str,
        sql: &'static str,
    },
    /// Every heartbeat, as `heartbeats.parquet`, a day range at a time
    /// (`export.rs::heartbeats_parquet`).
    Heartbeats,
    /// Through another table's section or file (which, and how).
    Through(&'static str),
    /// Not exported, and why (a secret, a key, nothing of the person).
    Withheld(&'static str),
}

/// How a person's rows go when the account is erased.
#[derive(Debug, Clone, Copy)]
pub enum Erase {
    /// With the account: a foreign key to `users` (or to a row that has
    /// one) with `ON DELETE CASCADE` (the test checks the live schema).
    Cascade,
    /// A statement of the erasure, in its transaction, with `$1` = the ids
    /// of the account's cloudcasts (`erasure.rs`).
    Statement(&'static str),
    /// A ClickHouse mutation by `user_id` or `cloudcast_id`
    /// (`analytics/src/purge.rs` finds the tables from their columns).
    Mutation,
    /// Kept, and why.
    Kept(&'static str),
}

/// One table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub store: Store,
    pub data: Data,
}

const fn pg(name: &'static str, data: Data) -> Table {
    Table {
        name,
        store: Store::Postgres,
        data,
    }
}

const fn ch(name: &'static str, data: Data) -> Table {
    Table {
        name,
        store: Store::Clickhouse,
        data,
    }
}

/// Kept as long as the account (or the cloudcast) is.
const WITH_ACCOUNT: &str = "while the account lives; deleted with it";

/// Every table of PostgreSQL and ClickHouse.
pub const TABLES: &[Table] = &[
    // --- PostgreSQL: accounts ------------------------------------------
    pg(
        "users",
        Data::Personal {
            export: &[Export::Json {
                section: "account",
                one: true,
                sql: "SELECT id, username, email, birth_date, is_minor, is_admin,
                             email_verified_at, created_at, ads_consent, third_party_consent
                        FROM users WHERE id = $1",
            }],
            erase: Erase::Cascade,
            kept: "while the account lives; a sign-up never confirmed, 24 hours",
        },
    ),
    pg(
        "profiles",
        Data::Personal {
            export: &[Export::Json {
                section: "profile",
                one: true,
                sql: "SELECT real_name, city, country, gender, birth_year, bio, avatar_type,
                             visibility, updated_at
                        FROM profiles WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "consent_events",
        Data::Personal {
            export: &[Export::Json {
                section: "consent_history",
                one: false,
                sql: "SELECT kind, granted, source, at FROM consent_events
                       WHERE user_id = $1 ORDER BY at, id",
            }],
            erase: Erase::Cascade,
            kept: "while the account lives (the proof of each consent)",
        },
    ),
    pg(
        "auth_tokens",
        Data::Personal {
            export: &[Export::Json {
                section: "sign_ins",
                one: false,
                sql: "SELECT created_at, expires_at FROM auth_tokens
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the session ends or expires",
        },
    ),
    pg(
        "email_verifications",
        Data::Personal {
            export: &[Export::Json {
                section: "email_verifications",
                one: false,
                sql: "SELECT expires_at, used_at FROM email_verifications
                       WHERE user_id = $1 ORDER BY expires_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "password_resets",
        Data::Personal {
            export: &[Export::Json {
                section: "password_resets",
                one: false,
                sql: "SELECT created_at, expires_at, used_at FROM password_resets
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "email_changes",
        Data::Personal {
            export: &[Export::Json {
                section: "email_changes",
                one: false,
                sql: "SELECT new_email, created_at, expires_at, used_at FROM email_changes
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "email_outbox",
        Data::Personal {
            export: &[Export::Json {
                section: "mail",
                one: false,
                sql: "SELECT kind, to_address, subject,
                             CASE WHEN kind IN ('verify_email', 'password_reset', 'confirm_email_change')
                                  THEN '(the link is left out: it may still work)'
                                  ELSE body END AS body,
                             created_at, sent_at
                        FROM email_outbox WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "api_keys",
        Data::Personal {
            export: &[Export::Json {
                section: "api_keys",
                one: false,
                sql: "SELECT name, prefix, created_at, last_used_at FROM api_keys
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until revoked, or with the account",
        },
    ),
    pg(
        "user_quotas",
        Data::Personal {
            export: &[Export::Json {
                section: "quota_set_by_an_operator",
                one: true,
                sql: "SELECT open_uploads, storage_bytes, daily_upload_bytes, set_by, reason, set_at
                        FROM user_quotas WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "data_exports",
        Data::Personal {
            export: &[Export::Json {
                section: "data_exports",
                one: false,
                sql: "SELECT id, status, created_at, ready_at, expires_at FROM data_exports
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the archive expires (privacy.export_ttl_hours), or with the account",
        },
    ),
    // --- PostgreSQL: the catalogue -------------------------------------
    pg(
        "uploads",
        Data::Personal {
            export: &[Export::Json {
                section: "uploads",
                one: false,
                sql: "SELECT id, cloudcast_id, filename, title, length, offset_bytes, state,
                             created_at, updated_at, expires_at
                        FROM uploads WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "upload_parts",
        Data::Personal {
            export: &[Export::Withheld(
                "the S3 bookkeeping of an upload's parts; the upload is in `uploads`",
            )],
            erase: Erase::Cascade,
            kept: "until the upload completes or is ended",
        },
    ),
    pg(
        "cloudcasts",
        Data::Personal {
            export: &[Export::Json {
                section: "cloudcasts",
                one: false,
                sql: "SELECT id, title, slug, description, tags, tracklist, purchase_links, status,
                             visibility, secret AS unlisted_secret, publish_at, disable_comments,
                             hide_stats, duration_ms, loudness_lufs, loudness_range_lu,
                             true_peak_dbtp, taken_down_at, takedown_reason, created_at, updated_at
                        FROM cloudcasts WHERE owner_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the DJ deletes it, or with the account",
        },
    ),
    pg(
        "cloudcast_slugs",
        Data::Personal {
            export: &[Export::Json {
                section: "cloudcast_slugs",
                one: false,
                sql: "SELECT cloudcast_id, slug, created_at FROM cloudcast_slugs
                       WHERE owner_id = $1 ORDER BY created_at, slug",
            }],
            erase: Erase::Cascade,
            kept: "with the cloudcast",
        },
    ),
    pg(
        "cloudcast_tags",
        Data::Nobody("a copy of each cloudcast's tags for tag pages (with the cloudcast)"),
    ),
    pg(
        "tag_counts",
        Data::Nobody("how many listed cloudcasts carry each tag"),
    ),
    pg(
        "cloudcast_charts",
        Data::Nobody("plays per cloudcast over 30 and 7 days, for the charts"),
    ),
    pg(
        "renditions",
        Data::Nobody("the transcoded files of a cloudcast and their fragment index"),
    ),
    pg(
        "transcode_jobs",
        Data::Nobody("the queue of transcodes, by cloudcast"),
    ),
    pg(
        "purchase_link_counts",
        Data::Nobody("clicks and purchases per purchase link, never who clicked"),
    ),
    pg(
        "follows",
        Data::Personal {
            export: &[
                Export::Json {
                    section: "following",
                    one: false,
                    sql: "SELECT u.username, f.created_at FROM follows f
                            JOIN users u ON u.id = f.followee_id
                           WHERE f.follower_id = $1 ORDER BY f.created_at",
                },
                Export::Json {
                    section: "followers",
                    one: false,
                    sql: "SELECT u.username, f.created_at FROM follows f
                            JOIN users u ON u.id = f.follower_id
                           WHERE f.followee_id = $1 AND NOT u.is_minor ORDER BY f.created_at",
                },
            ],
            erase: Erase::Cascade,
            kept: "until unfollowed, or with either account",
        },
    ),
    pg(
        "favourites",
        Data::Personal {
            export: &[Export::Json {
                section: "favourites",
                one: false,
                sql: "SELECT cloudcast_id, created_at FROM favourites
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account or the cloudcast",
        },
    ),
    pg(
        "favourite_events",
        Data::Personal {
            export: &[Export::Json {
                section: "favourite_history",
                one: false,
                sql: "SELECT cloudcast_id, delta, at FROM favourite_events
                       WHERE user_id = $1 ORDER BY id",
            }],
            erase: Erase::Statement("DELETE FROM favourite_events WHERE cloudcast_id = ANY($1)"),
            kept: "with the account; others' events about its cloudcasts go with them",
        },
    ),
    pg(
        "reposts",
        Data::Personal {
            export: &[Export::Json {
                section: "reposts",
                one: false,
                sql: "SELECT cloudcast_id, created_at FROM reposts
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account or the cloudcast",
        },
    ),
    pg(
        "repost_events",
        Data::Personal {
            export: &[Export::Json {
                section: "repost_history",
                one: false,
                sql: "SELECT cloudcast_id, delta, at FROM repost_events
                       WHERE user_id = $1 ORDER BY id",
            }],
            erase: Erase::Statement("DELETE FROM repost_events WHERE cloudcast_id = ANY($1)"),
            kept: "with the account; others' events about its cloudcasts go with them",
        },
    ),
    pg(
        "listen_later",
        Data::Personal {
            export: &[Export::Json {
                section: "listen_later",
                one: false,
                sql: "SELECT cloudcast_id, created_at FROM listen_later
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account or the cloudcast",
        },
    ),
    pg(
        "comments",
        Data::Personal {
            export: &[Export::Json {
                section: "comments",
                one: false,
                sql: "SELECT id, cloudcast_id, body, status, held_reason, created_at, moderated_at
                        FROM comments WHERE author_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until deleted, or with the account or the cloudcast",
        },
    ),
    pg(
        "comment_reports",
        Data::Personal {
            export: &[Export::Json {
                section: "comment_reports",
                one: false,
                sql: "SELECT comment_id, reason, created_at FROM comment_reports
                       WHERE reporter_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the comment is decided or deleted, or with the account",
        },
    ),
    pg(
        "cloudcast_reports",
        Data::Personal {
            export: &[
                Export::Json {
                    section: "cloudcast_reports",
                    one: false,
                    sql: "SELECT id, cloudcast_id, kind, reason, notifier_name, notifier_email, work,
                                 good_faith, status, decision_note, created_at, decided_at
                            FROM cloudcast_reports WHERE reporter_id = $1 ORDER BY created_at",
                },
                // Reports on my cloudcasts and what was decided; who sent
                // them is theirs, not mine.
                Export::Json {
                    section: "reports_on_my_cloudcasts",
                    one: false,
                    sql: "SELECT r.cloudcast_id, r.kind, r.reason, r.status, r.decision_note,
                                 r.created_at, r.decided_at
                            FROM cloudcast_reports r JOIN cloudcasts c ON c.id = r.cloudcast_id
                           WHERE c.owner_id = $1 ORDER BY r.created_at",
                },
            ],
            erase: Erase::Cascade,
            kept: "with the reporter's account and with the cloudcast",
        },
    ),
    pg(
        "counter_notices",
        Data::Personal {
            export: &[Export::Json {
                section: "counter_notices",
                one: false,
                sql: "SELECT id, cloudcast_id, statement, status, decision_note, created_at, decided_at
                        FROM counter_notices WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "with the account and the cloudcast",
        },
    ),
    // --- PostgreSQL: privacy and the system ----------------------------
    pg(
        "erased_accounts",
        Data::Personal {
            export: &[Export::Withheld("the bare id of an account that no longer exists")],
            erase: Erase::Kept(
                "the id alone, so late heartbeats of an erased account are dropped; 30 days",
            ),
            kept: "30 days after the erasure (analytics/src/tombstones.rs::KEEP_DAYS)",
        },
    ),
    pg(
        "analytics_purges",
        Data::Personal {
            export: &[Export::Withheld("the queue of removals still to apply to ClickHouse")],
            erase: Erase::Kept(
                "the removal of the account's own rows; done within the erasure window and again five minutes later",
            ),
            kept: "until applied (privacy.erasure_window_secs, and five minutes later again)",
        },
    ),
    pg(
        "disclosures",
        Data::Personal {
            export: &[Export::Withheld(
                "the record of a disclosure compelled by law, for the operator",
            )],
            erase: Erase::Kept("the legal record of who was given what, when and why"),
            kept: "as the law that compelled the disclosure requires",
        },
    ),
    pg(
        "rate_limits",
        Data::Nobody("keyed hashes of an account id, an address or a key, and a time"),
    ),
    pg("server_secrets", Data::Nobody("keys the nodes share")),
    pg(
        "ip_hash_keys",
        Data::Nobody("the day's key for address hashes, deleted the day after"),
    ),
    pg("_sqlx_migrations", Data::Nobody("the migrations applied")),
    // --- ClickHouse ------------------------------------------------------
    ch(
        "heartbeats",
        Data::Personal {
            export: &[
                Export::Heartbeats,
                Export::Parquet {
                    file: "listening_by_day.parquet",
                    sql: "SELECT toDate(ts) AS listened_on, cloudcast_id, count() AS beats,
                                 uniqExact(session_id) AS sessions
                            FROM heartbeats WHERE user_id = ?
                           GROUP BY listened_on, cloudcast_id ORDER BY listened_on, cloudcast_id",
                },
            ],
            erase: Erase::Mutation,
            kept: "analytics.raw_months whole months (13), then the monthly partition is dropped",
        },
    ),
    ch(
        "listen_sessions",
        Data::Personal {
            export: &[Export::Parquet {
                file: "play_history.parquet",
                // Aliases differ from column names: ClickHouse 18.16
                // resolves an alias that shadows a column inside the
                // aggregate that reads it.
                sql: "SELECT cloudcast_id, session_id,
                             minMerge(started) AS started_at, maxMerge(ended) AS ended_at,
                             uniqExactMerge(seconds) AS seconds_heard,
                             maxMerge(furthest_ms) AS furthest_position_ms,
                             argMaxMerge(last_ms) AS last_position_ms
                        FROM listen_sessions WHERE user_id = ?
                       GROUP BY cloudcast_id, session_id ORDER BY started_at",
            }],
            erase: Erase::Mutation,
            kept: "while the account lives: the play history",
        },
    ),
    ch(
        "listener_days",
        Data::Personal {
            export: &[Export::Through("listening_by_day.parquet, from the heartbeats")],
            erase: Erase::Mutation,
            kept: "while the account and the cloudcast live: the statistics",
        },
    ),
    ch(
        "session_days",
        Data::Personal {
            export: &[Export::Through(
                "play_history.parquet and heartbeats.parquet (the same sessions and beats)",
            )],
            erase: Erase::Mutation,
            kept: "as raw heartbeats (analytics.raw_months), dropped with their month",
        },
    ),
    ch(
        "listener_day_totals",
        Data::Personal {
            export: &[Export::Through("listening_by_day.parquet, from the heartbeats")],
            erase: Erase::Mutation,
            kept: "while the account and the cloudcast live: the statistics",
        },
    ),
    ch(
        "ad_interest",
        Data::Personal {
            export: &[Export::Parquet {
                file: "ad_interest.parquet",
                sql: "SELECT tag, day AS listened_on, sum(seconds) AS seconds_heard
                        FROM ad_interest WHERE user_id = ?
                       GROUP BY tag, listened_on ORDER BY listened_on, tag",
            }],
            erase: Erase::Mutation,
            kept: "until the ad consent is withdrawn or the account erased",
        },
    ),
    ch(
        "favourite_events",
        Data::Personal {
            export: &[Export::Through("favourite_history in account.json (the same events)")],
            erase: Erase::Mutation,
            kept: "with the account and the cloudcast (a copy of PostgreSQL's)",
        },
    ),
    ch(
        "repost_events",
        Data::Personal {
            export: &[Export::Through("repost_history in account.json (the same events)")],
            erase: Erase::Mutation,
            kept: "with the account and the cloudcast (a copy of PostgreSQL's)",
        },
    ),
    ch(
        "referrer_days",
        Data::Nobody("listeners per referring domain, cloudcast and day (hashed listener ids in exact-distinct states)"),
    ),
    ch(
        "browser_days",
        Data::Nobody("listeners per browser, cloudcast and day (hashed listener ids in exact-distinct states)"),
    ),
    ch(
        "retention_days",
        Data::Nobody("listeners per 10 s of a cloudcast and day (hashed listener ids in exact-distinct states)"),
    ),
    ch("rollup_days", Data::Nobody("which days are rolled up")),
    ch("day_beats", Data::Nobody("beats per day")),
    ch("schema_migrations", Data::Nobody("the migrations applied")),
    ch(
        "cloudcast_days",
        Data::Nobody("a plain view: listeners, seconds and plays per cloudcast and day"),
    ),
    ch(
        "counted_listener_days",
        Data::Nobody("a plain view over listener_day_totals and session_days (erased with them)"),
    ),
    ch("listener_days_mv", Data::Nobody("the view filling listener_days")),
    ch("session_days_mv", Data::Nobody("the view filling session_days")),
    ch("listen_sessions_mv", Data::Nobody("the view filling listen_sessions")),
    ch("referrer_days_mv", Data::Nobody("the view filling referrer_days")),
    ch("browser_days_mv", Data::Nobody("the view filling browser_days")),
    ch("retention_days_mv", Data::Nobody("the view filling retention_days")),
    ch("ad_interest_mv", Data::Nobody("the view filling ad_interest")),
    ch("day_beats_mv", Data::Nobody("the view filling day_beats")),
];

/// A place other than a table where data about a person lives.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub what: &'static str,
    pub r#where: &'static str,
    pub kept: &'static str,
}

/// The other places: S3 (every prefix of an account in
/// `core/src/keys.rs::account_prefixes`), each stream node's log.
pub const PLACES: &[Place] = &[
    Place {
        what: "Originals, transcoded media, covers, avatars, unfinished uploads, export archives",
        r#where: "S3 (`core/src/keys.rs`: every account prefix)",
        kept: "while the account or cloudcast lives; deleted at once with it, and swept again",
    },
    Place {
        what: "Unshipped heartbeats",
        r#where: "each stream node's write-ahead log (`analytics.wal_dir`)",
        kept: "until ClickHouse confirms them, seconds normally; an erased account's are dropped",
    },
];

/// The table called `name` in `store`, a cluster's `{name}_local` included.
pub fn declared(store: Store, name: &str) -> Option<&'static Table> {
    let plain = name.strip_suffix("_local").unwrap_or(name);
    TABLES
        .iter()
        .find(|t| t.store == store && (t.name == name || t.name == plain))
}

/// The tables of a live schema not declared here.
pub fn undeclared(store: Store, live: &[String]) -> Vec<String> {
    live.iter()
        .filter(|t| declared(store, t).is_none())
        .cloned()
        .collect()
}

/// `account.json`'s sections, in order: (section, one row, SQL).
pub fn json_sections() -> impl Iterator<Item = (&'static str, bool, &'static str)> {
    exports().filter_map(|e| match e {
        Export::Json { section, one, sql } => Some((section, one, sql)),
        _ => None,
    })
}

/// The Parquet files of ClickHouse aggregates: (file, SQL).
pub fn parquet_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    exports().filter_map(|e| match e {
        Export::Parquet { file, sql } => Some((file, sql)),
        _ => None,
    })
}

fn exports() -> impl Iterator<Item = Export> {
    TABLES.iter().flat_map(|t| match t.data {
        Data::Personal { export, .. } => export.iter().copied(),
        Data::Nobody(_) => [].iter().copied(),
    })
}

/// The erasure's statements, in order (`$1` = the account's cloudcasts).
pub fn erasure_statements() -> impl Iterator<Item = &'static str> {
    TABLES.iter().filter_map(|t| match t.data {
        Data::Personal {
            erase: Erase::Statement(sql),
            ..
        } => Some(sql),
        _ => None,
    })
}

/// `docs/privacy.md`'s table of what each store keeps about people, drawn
/// from the registry (a test holds the document to it).
pub fn retention_markdown() -> String {
    let mut out = String::from("| table or place | store | kept |\n|---|---|---|\n");
    for t in TABLES {
        if let Data::Personal { kept, .. } = t.data {
            let store = match t.store {
                Store::Postgres => "PostgreSQL",
                Store::Clickhouse => "ClickHouse",
            };
            out.push_str(&format!("| `{}` | {store} | {kept} |\n", t.name));
        }
    }
    for p in PLACES {
        out.push_str(&format!("| {} | {} | {} |\n", p.what, p.r#where, p.kept));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_declared_once_and_sections_are_unique() {
        let mut names: Vec<(bool, &str)> = TABLES
            .iter()
            .map(|t| (t.store == Store::Postgres, t.name))
            .collect();
        names.sort_unstable();
        let all = names.len();
        names.dedup();
        assert_eq!(names.len(), all, "a table declared twice");
        let mut sections: Vec<&str> = json_sections().map(|s| s.0).collect();
        let n = sections.len();
        sections.sort_unstable();
        sections.dedup();
        assert_eq!(sections.len(), n, "two sections of one name");
    }

    #[test]
    fn no_export_selects_a_secret() {
        for (section, _, sql) in json_sections() {
            for secret in ["password_hash", "token_hash", "key_hash", "SELECT *"] {
                assert!(!sql.contains(secret), "{section} selects {secret}");
            }
        }
    }

    #[test]
    fn undeclared_tables_are_named() {
        let live = vec![
            "users".to_string(),
            "heartbeats_local".to_string(),
            "a_new_table".to_string(),
        ];
        assert_eq!(
            undeclared(Store::Postgres, &live[..1]),
            Vec::<String>::new()
        );
        assert_eq!(
            undeclared(Store::Clickhouse, &live[1..]),
            vec!["a_new_table".to_string()]
        );
    }
}
