//! The states things move through, as Rust enums, each mapped here (and
//! only here) to the text its column's CHECK constraint allows. A state
//! column is read and written through these types, so a misspelt state is
//! a compile error, and the unit test below fails if a migration and an
//! enum disagree.

use sqlx::Postgres;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};

/// An enum stored as `text` with a CHECK constraint: the Rust names, the
/// database spellings, and the same spellings in JSON and in the OpenAPI
/// document (implemented here from the one list, not derived, so the three
/// cannot disagree), and sqlx.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order the CHECK constraint lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&text, &[$($text),+])
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl sqlx::Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <&str as sqlx::Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as sqlx::Type<Postgres>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as sqlx::Encode<'q, Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as sqlx::Decode<'r, Postgres>>::decode(value)?;
                $name::parse(text)
                    .ok_or_else(|| format!("{text:?} is not a {}", stringify!($name)).into())
            }
        }
    };
}

text_enum! {
    /// A tus upload (`uploads.state`).
    UploadState {
        /// Takes bytes.
        Receiving = "receiving",
        /// Every byte arrived; its cloudcast exists.
        Complete = "complete",
        /// The client abandoned it (tus termination).
        Terminated = "terminated",
        /// No byte arrived for `uploads.expiry_secs` (tus expiration).
        Expired = "expired",
    }
}

impl UploadState {
    /// Neither complete nor receiving: the upload is gone for the client.
    pub fn is_closed(self) -> bool {
        matches!(self, UploadState::Terminated | UploadState::Expired)
    }
}

text_enum! {
    /// A cloudcast (`cloudcasts.status`).
    CloudcastStatus {
        /// Uploaded, waiting for or in its transcode.
        Processing = "processing",
        /// Published: it can be streamed.
        Ready = "ready",
        /// Transcoding failed for good (the owner may retry it).
        Failed = "failed",
        /// The upload was not audio we take; its bytes were deleted.
        Rejected = "rejected",
    }
}

text_enum! {
    /// A transcode job (`transcode_jobs.state`).
    JobState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

text_enum! {
    /// What a job in `transcode_jobs` does (`transcode_jobs.kind`).
    JobKind {
        /// Decode, encode the ladder, publish a new version.
        Transcode = "transcode",
        /// Decode only, to measure the loudness series of a mix published
        /// before it was kept (the backfill).
        Loudness = "loudness",
        /// Add the segment index to renditions published without one (the
        /// backfill): progressive players then seek at once.
        SeekIndex = "seek_index",
    }
}

text_enum! {
    /// What a mix offers for download (`cloudcasts.downloads`), as its DJ
    /// chose; only mixes with a download are in the DJ's podcast feed.
    Downloads {
        /// Streaming only (the default: many mixes' tracks are licensed
        /// for streaming alone).
        Off = "off",
        /// The best AAC rendition, as an `.m4a`.
        Aac = "aac",
        /// The file the DJ uploaded.
        Original = "original",
    }
}

text_enum! {
    /// A background data export (`exports.status`).
    ExportState {
        Building = "building",
        Ready = "ready",
        Failed = "failed",
    }
}

text_enum! {
    /// A comment (`comments.status`).
    CommentStatus {
        /// Shown to everyone who may see its cloudcast.
        Visible = "visible",
        /// Waiting for a moderator; shown to its author and moderators only.
        Held = "held",
    }
}

text_enum! {
    /// What a report on a cloudcast is about (`cloudcast_reports.kind`).
    ReportKind {
        /// Abusive or unlawful content other than a copyright claim.
        Abuse = "abuse",
        /// A copyright notice from the rights holder or their agent.
        Copyright = "copyright",
    }
}

text_enum! {
    /// A report on a cloudcast (`cloudcast_reports.status`).
    ReportStatus {
        /// Waiting for a moderator.
        Open = "open",
        /// Found not to call for action.
        Dismissed = "dismissed",
        /// The cloudcast was taken down for it.
        Upheld = "upheld",
    }
}

text_enum! {
    /// A DJ's answer to a takedown (`counter_notices.status`).
    CounterNoticeStatus {
        Open = "open",
        /// The takedown stands.
        Rejected = "rejected",
        /// The cloudcast is back.
        Reinstated = "reinstated",
    }
}

text_enum! {
    /// What a queued analytics removal covers (`analytics_purges.scope`).
    PurgeScope {
        /// A user's ad-interest rows (ad consent withdrawn).
        AdInterest = "ad_interest",
        /// Everything of an erased account.
        Account = "account",
        /// Every row of a deleted cloudcast.
        Cloudcast = "cloudcast",
    }
}

text_enum! {
    /// Who may find and play a cloudcast (`cloudcasts.visibility`); the
    /// rule itself is `visibility.rs`.
    Visibility {
        /// Listed, searched, charted and playable by anyone.
        Public = "public",
        /// Playable by whoever has its URL; never listed, searched or charted.
        Unlisted = "unlisted",
        /// Its owner alone.
        Private = "private",
    }
}

text_enum! {
    /// Why an account was erased (`erased_accounts.reason`).
    ErasureReason {
        /// The user asked.
        User = "user",
        /// Reported as under 13.
        Under13 = "under_13",
        /// Another operator decision.
        Operator = "operator",
    }
}

text_enum! {
    /// What a notification tells (`notifications.kind`).
    NotificationKind {
        /// Someone followed me.
        Follower = "follower",
        /// Someone commented on my mix.
        Comment = "comment",
        /// Someone answered my comment.
        Reply = "reply",
        /// Someone named me in a comment.
        Mention = "mention",
        /// Someone favourited my mix.
        Favourite = "favourite",
        /// Someone reposted my mix.
        Repost = "repost",
        /// Someone I follow published a mix.
        NewMix = "new_mix",
        /// Someone I follow reposted a mix.
        FollowedRepost = "followed_repost",
        /// My mix finished processing.
        Processed = "processed",
        /// My mix could not be processed.
        ProcessingFailed = "processing_failed",
        /// My data export is ready to download.
        ExportReady = "export_ready",
        /// A moderator decided about me, my mix or my report.
        Moderation = "moderation",
        /// Someone commented on my profile.
        ProfileComment = "profile_comment",
        /// My account's sign-in changed: a factor added or removed, an app
        /// connected (mailed as well, whatever the settings).
        Security = "security",
    }
}

text_enum! {
    /// A WebAuthn ceremony in progress (`webauthn_ceremonies.kind`).
    Ceremony {
        /// Adding a passkey to a signed-in account.
        Register = "register",
        /// Signing in with a passkey (no account named yet).
        SignIn = "sign_in",
        /// The person again, by passkey, for an action that asks for it.
        Confirm = "confirm",
        /// A passed `Confirm`: the one-time code's hash, for that action.
        Proof = "proof",
    }
}

text_enum! {
    /// How a person hears of a kind of notification
    /// (`notification_settings.delivery`).
    Delivery {
        /// On the site only.
        InApp = "in_app",
        /// On the site, and mailed at once.
        Mail = "mail",
        /// On the site, and in a daily digest.
        Daily = "daily",
        /// On the site, and in a weekly digest.
        Weekly = "weekly",
        /// Not at all.
        Off = "off",
    }
}

text_enum! {
    /// A policy document (`policy_versions.kind`).
    PolicyKind {
        /// The privacy policy: shown, not forced.
        Privacy = "privacy",
        /// The terms of service: accepted before the API is used.
        Terms = "terms",
    }
}

text_enum! {
    /// How a policy version was put before a person (`policy_showings.via`).
    ShowingVia {
        /// On the sign-up page.
        SignUp = "signup",
        /// The banner of a page, on the visit after a new version.
        Banner = "banner",
        /// The mail announcing a new version.
        Mail = "mail",
    }
}

text_enum! {
    /// What a message through the contact page is about
    /// (`contact_cases.topic`); [`CaseTopic::queue`] is where it goes.
    CaseTopic {
        /// An account pretends to be someone else.
        Impersonation = "impersonation",
        /// An account spams.
        Spam = "spam",
        /// An account harasses people.
        Harassment = "harassment",
        /// An account's holder is believed to be under 13 (policy §12).
        Under13 = "under_13",
        /// Another abuse by an account.
        OtherAbuse = "other_abuse",
        /// Withdraw a consent (policy §4, §16).
        WithdrawConsent = "withdraw_consent",
        /// Ask for one's data (policy §9).
        DataAccess = "data_access",
        /// A concern about privacy.
        PrivacyConcern = "privacy_concern",
        /// Feedback on the site.
        Feedback = "feedback",
    }
}

impl CaseTopic {
    /// A report on an account (it names the account).
    pub fn is_account_report(self) -> bool {
        matches!(
            self,
            CaseTopic::Impersonation
                | CaseTopic::Spam
                | CaseTopic::Harassment
                | CaseTopic::Under13
                | CaseTopic::OtherAbuse
        )
    }

    /// A privacy request: a queue of its own.
    pub fn is_privacy_request(self) -> bool {
        matches!(
            self,
            CaseTopic::WithdrawConsent | CaseTopic::DataAccess | CaseTopic::PrivacyConcern
        )
    }
}

text_enum! {
    /// A contact case (`contact_cases.status`).
    CaseStatus {
        Open = "open",
        /// Answered; the sender's contact is kept 30 days more.
        Closed = "closed",
    }
}

text_enum! {
    /// What a decision on an account does (`account_decisions.action`).
    AccountAction {
        /// Signed out everywhere; hidden; may only read the decision,
        /// appeal, export or erase.
        Suspend = "suspend",
        /// May not upload.
        NoUploads = "no_uploads",
        /// May not comment.
        NoComments = "no_comments",
        /// Confirmed under 13: suspended now, erased after the contest
        /// period unless an appeal succeeds.
        EraseMinor = "erase_minor",
    }
}

text_enum! {
    /// Where a decision on an account stands (`account_decisions.state`).
    DecisionState {
        /// In force (until its time, if it has one).
        InForce = "in_force",
        /// Lifted by a moderator or a granted appeal.
        Lifted = "lifted",
        /// The account was erased as decided.
        CarriedOut = "carried_out",
    }
}

text_enum! {
    /// An appeal against a decision (`account_appeals.status`).
    AppealStatus {
        Open = "open",
        /// The decision was lifted.
        Granted = "granted",
        /// The decision stands.
        Rejected = "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every migration, in order.
    const MIGRATIONS: &[&str] = &[
        include_str!("../migrations/0001_foundation.sql"),
        include_str!("../migrations/0002_accounts_and_uploads.sql"),
        include_str!("../migrations/0003_transcode_details.sql"),
        include_str!("../migrations/0004_stream_privacy.sql"),
        include_str!("../migrations/0005_favourites_and_links.sql"),
        include_str!("../migrations/0006_consents.sql"),
        include_str!("../migrations/0007_comments.sql"),
        include_str!("../migrations/0008_privacy.sql"),
        include_str!("../migrations/0009_catalogue.sql"),
        include_str!("../migrations/0010_account_recovery.sql"),
        include_str!("../migrations/0011_rate_limits.sql"),
        include_str!("../migrations/0012_quotas.sql"),
        include_str!("../migrations/0013_export_jobs.sql"),
        include_str!("../migrations/0014_takedowns.sql"),
        include_str!("../migrations/0015_trust.sql"),
        include_str!("../migrations/0016_tags_at_once.sql"),
        include_str!("../migrations/0017_profile_links.sql"),
        include_str!("../migrations/0018_drafts.sql"),
        include_str!("../migrations/0019_comment_threads.sql"),
        include_str!("../migrations/0020_notifications.sql"),
        include_str!("../migrations/0021_policy_channels.sql"),
        include_str!("../migrations/0022_blocks_and_profile_comments.sql"),
        include_str!("../migrations/0023_playlists.sql"),
        include_str!("../migrations/0024_related.sql"),
        include_str!("../migrations/0025_follow_events.sql"),
        include_str!("../migrations/0026_loudness_series.sql"),
        include_str!("../migrations/0027_podcasts.sql"),
        include_str!("../migrations/0028_second_factors.sql"),
        include_str!("../migrations/0029_oauth.sql"),
        include_str!("../migrations/0030_passkeys.sql"),
    ];

    /// `CHECK (column IN ('a', 'b'))` for these values.
    fn check(column: &str, values: &[&str]) -> String {
        let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
        format!("CHECK ({column} IN ({}))", list.join(", "))
    }

    fn assert_checked(column: &str, values: Vec<&str>) {
        let want = check(column, &values);
        assert!(
            MIGRATIONS.iter().any(|m| m.contains(&want)),
            "no migration has {want}"
        );
    }

    #[test]
    fn enums_match_the_check_constraints() {
        fn texts<T: Copy + Into<&'static str>>(all: &[T]) -> Vec<&'static str> {
            all.iter().map(|s| (*s).into()).collect()
        }
        assert_checked("state", texts(UploadState::ALL));
        assert_checked("status", texts(CloudcastStatus::ALL));
        assert_checked("state", texts(JobState::ALL));
        assert_checked("kind", texts(JobKind::ALL));
        assert_checked("status", texts(ExportState::ALL));
        assert_checked("status", texts(CommentStatus::ALL));
        assert_checked("scope", texts(PurgeScope::ALL));
        assert_checked("kind", texts(ReportKind::ALL));
        assert_checked("status", texts(ReportStatus::ALL));
        assert_checked("status", texts(CounterNoticeStatus::ALL));
        assert_checked("reason", texts(ErasureReason::ALL));
        assert_checked("visibility", texts(Visibility::ALL));
        assert_checked("downloads", texts(Downloads::ALL));
        assert_checked("kind", texts(NotificationKind::ALL));
        assert_checked("kind", texts(Ceremony::ALL));
        assert_checked("delivery", texts(Delivery::ALL));
        assert_checked("kind", texts(PolicyKind::ALL));
        assert_checked("via", texts(ShowingVia::ALL));
        assert_checked("topic", texts(CaseTopic::ALL));
        assert_checked("status", texts(CaseStatus::ALL));
        assert_checked("action", texts(AccountAction::ALL));
        assert_checked("state", texts(DecisionState::ALL));
        assert_checked("status", texts(AppealStatus::ALL));
    }

    #[test]
    fn text_round_trips() {
        for s in UploadState::ALL {
            assert_eq!(UploadState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            CloudcastStatus::parse("ready"),
            Some(CloudcastStatus::Ready)
        );
        assert_eq!(CloudcastStatus::parse("Ready"), None);
        assert_eq!(
            serde_json::to_value(ErasureReason::Under13).ok(),
            Some(serde_json::json!("under_13"))
        );
        assert_eq!(
            serde_json::from_str::<ExportState>("\"ready\"").ok(),
            Some(ExportState::Ready)
        );
        assert!(serde_json::from_str::<ExportState>("\"Ready\"").is_err());
        // The document lists the database's spellings.
        let schema = serde_json::to_value(<CommentStatus as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
        assert_eq!(schema["enum"], serde_json::json!(["visible", "held"]));
    }
}
