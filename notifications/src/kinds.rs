//! What each kind of notification is: how a person hears of it unless they
//! choose otherwise, what they may choose, and its words. The one home of
//! these rules: the API, the settings page, the mail and the README's
//! table read them here.

use cloudcast_core::states::{Delivery, NotificationKind as K};

/// How `kind` is delivered unless its person chose otherwise: mail at once
/// only for moderation and account matters, the site for the rest.
pub fn default_delivery(kind: K) -> Delivery {
    match kind {
        K::Moderation | K::ExportReady => Delivery::Mail,
        _ => Delivery::InApp,
    }
}

/// What a person may choose for `kind`. Moderation decisions are always
/// mailed (the policy promises it); everything else may be mailed at once,
/// gathered in a digest, shown on the site only, or turned off.
pub fn choices(kind: K) -> &'static [Delivery] {
    match kind {
        K::Moderation => &[Delivery::Mail],
        // Mailed apart from these settings (accounts, apps): always shown.
        K::Security => &[Delivery::InApp],
        _ => Delivery::ALL,
    }
}

/// The kind as the settings page names it.
pub fn label(kind: K) -> &'static str {
    match kind {
        K::Follower => "New followers",
        K::Comment => "Comments on my mixes",
        K::ProfileComment => "Comments on my profile",
        K::Reply => "Replies to my comments",
        K::Mention => "Mentions of me",
        K::Favourite => "Favourites of my mixes",
        K::Repost => "Reposts of my mixes",
        K::NewMix => "New mixes from DJs I follow",
        K::FollowedRepost => "Reposts by people I follow",
        K::Processed => "My upload is ready",
        K::ProcessingFailed => "My upload failed",
        K::ExportReady => "My data export is ready",
        K::Moderation => "Moderation decisions (always mailed)",
        K::Security => "Sign-in changes and connected apps (always mailed)",
    }
}

/// "ana", "ana and bo", "ana and 4 others": the newest first, `count` in all.
pub fn who(actors: &[String], count: i64) -> String {
    match (actors, count) {
        ([], _) => "Someone".into(),
        ([a], 1) => a.clone(),
        ([a, b, ..], 2) => format!("{a} and {b}"),
        ([a, ..], 2) => format!("{a} and 1 other"),
        ([a, ..], n) => format!("{a} and {} others", n - 1),
    }
}

/// What a notification says, in one line. `title` names the mix it is
/// about; `profile`, the person on whose profile a comment is.
pub fn summary(
    kind: K,
    actors: &[String],
    count: i64,
    title: Option<&str>,
    profile: Option<&str>,
    detail: Option<&str>,
) -> String {
    let who = who(actors, count);
    let mix = match (title, profile) {
        (Some(t), _) => format!("“{t}”"),
        (None, Some(p)) => format!("{p}'s profile"),
        (None, None) => "a mix".to_string(),
    };
    match kind {
        K::Follower => format!("{who} followed you"),
        K::Comment => format!("{who} commented on {mix}"),
        K::ProfileComment => format!("{who} commented on your profile"),
        K::Reply => format!("{who} replied to your comment on {mix}"),
        K::Mention => format!("{who} mentioned you in a comment on {mix}"),
        K::Favourite => format!("{who} favourited {mix}"),
        K::Repost => format!("{who} reposted {mix}"),
        K::NewMix => format!("{who} published {mix}"),
        K::FollowedRepost => format!("{who} reposted {mix}"),
        K::Processed => format!("{mix} is ready"),
        K::ProcessingFailed => match detail {
            Some(d) => format!("{mix} could not be processed: {d}"),
            None => format!("{mix} could not be processed"),
        },
        K::ExportReady => "Your data export is ready to download".into(),
        K::Moderation => detail.unwrap_or("A moderator made a decision").into(),
        K::Security => detail.unwrap_or("Your account's sign-in changed").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_group_names_the_newest_and_counts_the_rest() {
        assert_eq!(who(&names(&["ana"]), 1), "ana");
        assert_eq!(who(&names(&["ana", "bo"]), 2), "ana and bo");
        assert_eq!(who(&names(&["ana", "bo", "cy"]), 5), "ana and 4 others");
        assert_eq!(who(&names(&["ana"]), 2), "ana and 1 other");
        assert_eq!(
            summary(
                K::Favourite,
                &names(&["ana", "bo", "cy"]),
                500,
                Some("Dawn"),
                None,
                None
            ),
            "ana and 499 others favourited “Dawn”"
        );
        assert_eq!(
            summary(K::Reply, &names(&["ana"]), 1, None, Some("bo"), None),
            "ana replied to your comment on bo's profile"
        );
    }

    #[test]
    fn moderation_is_always_mailed_and_the_rest_may_be_chosen() {
        assert_eq!(choices(K::Moderation), &[Delivery::Mail]);
        assert_eq!(default_delivery(K::Moderation), Delivery::Mail);
        assert_eq!(default_delivery(K::ExportReady), Delivery::Mail);
        assert_eq!(default_delivery(K::Favourite), Delivery::InApp);
        for k in K::ALL {
            assert!(choices(*k).contains(&default_delivery(*k)), "{k}");
            assert!(!label(*k).is_empty());
        }
    }
}
