//! The protocol's error codes (PROTOCOL.md §3.13) and which WebSocket close codes are fatal.
//!
//! Servers put the symbolic name in `reason` (the JS SDK uses `reason` as both `Error.name` and
//! `Error.message`), so [`ErrorCode::name`] is what goes on the wire; [`ErrorCode::default_message`] is the
//! SDK's fallback text when a server sends none.

use std::fmt;

use crate::ErrorCommand;

/// Every error code of the LeanCloud RTM protocol, with the JS SDK's symbolic names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum ErrorCode {
    /// 1000 `CLOSE_NORMAL`.
    CloseNormal = 1000,
    /// 1006 `CLOSE_ABNORMAL`.
    CloseAbnormal = 1006,
    /// 4100 `APP_NOT_AVAILABLE`: App not exists or realtime message service is disabled.
    AppNotAvailable = 4100,
    /// 4102 `SIGNATURE_FAILED`: Login signature mismatch.
    SignatureFailed = 4102,
    /// 4103 `INVALID_LOGIN`: Malformed clientId.
    InvalidLogin = 4103,
    /// 4105 `SESSION_REQUIRED`: Message sent before session opened.
    SessionRequired = 4105,
    /// 4107 `READ_TIMEOUT`.
    ReadTimeout = 4107,
    /// 4108 `LOGIN_TIMEOUT`.
    LoginTimeout = 4108,
    /// 4109 `FRAME_TOO_LONG`.
    FrameTooLong = 4109,
    /// 4110 `INVALID_ORIGIN`: Access denied by domain whitelist.
    InvalidOrigin = 4110,
    /// 4111 `SESSION_CONFLICT`.
    SessionConflict = 4111,
    /// 4112 `SESSION_TOKEN_EXPIRED`.
    SessionTokenExpired = 4112,
    /// 4113 `APP_QUOTA_EXCEEDED`: The daily active users limit exceeded.
    AppQuotaExceeded = 4113,
    /// 4115 `KICKED_BY_APP`: the app's backend (REST kick, cloud functions) closed the session.
    /// LeanCloud's documented code; the JS SDK's `error.js` has no entry for it, so its clients
    /// report the server's `reason`.
    KickedByApp = 4115,
    /// 4116 `MESSAGE_SENT_QUOTA_EXCEEDED`: Command sent too fast.
    MessageSentQuotaExceeded = 4116,
    /// 4200 `INTERNAL_ERROR`: Internal error, please contact LeanCloud for support.
    InternalError = 4200,
    /// 4301 `CONVERSATION_API_FAILED`: Upstream Conversatoin API failed, see error.detail for details.
    ConversationApiFailed = 4301,
    /// 4302 `CONVERSATION_SIGNATURE_FAILED`: Conversation action signature mismatch.
    ConversationSignatureFailed = 4302,
    /// 4303 `CONVERSATION_NOT_FOUND`.
    ConversationNotFound = 4303,
    /// 4304 `CONVERSATION_FULL`.
    ConversationFull = 4304,
    /// 4305 `CONVERSATION_REJECTED_BY_APP`: Conversation action rejected by hook.
    ConversationRejectedByApp = 4305,
    /// 4306 `CONVERSATION_UPDATE_FAILED`.
    ConversationUpdateFailed = 4306,
    /// 4307 `CONVERSATION_READ_ONLY`.
    ConversationReadOnly = 4307,
    /// 4308 `CONVERSATION_NOT_ALLOWED`.
    ConversationNotAllowed = 4308,
    /// 4309 `CONVERSATION_UPDATE_REJECTED`: Conversation update rejected because the client is not a member.
    ConversationUpdateRejected = 4309,
    /// 4310 `CONVERSATION_QUERY_FAILED`: Conversation query failed because it is too expansive.
    ConversationQueryFailed = 4310,
    /// 4311 `CONVERSATION_LOG_FAILED`.
    ConversationLogFailed = 4311,
    /// 4312 `CONVERSATION_LOG_REJECTED`: Message query rejected because the client is not a member of the conversation.
    ConversationLogRejected = 4312,
    /// 4313 `SYSTEM_CONVERSATION_REQUIRED`.
    SystemConversationRequired = 4313,
    /// 4314 `NORMAL_CONVERSATION_REQUIRED`.
    NormalConversationRequired = 4314,
    /// 4315 `CONVERSATION_BLACKLISTED`: Blacklisted in the conversation.
    ConversationBlacklisted = 4315,
    /// 4316 `TRANSIENT_CONVERSATION_REQUIRED`.
    TransientConversationRequired = 4316,
    /// 4317 `CONVERSATION_MEMBERSHIP_REQUIRED`.
    ConversationMembershipRequired = 4317,
    /// 4318 `CONVERSATION_API_QUOTA_EXCEEDED`: LeanCloud API quota exceeded. You may upgrade your plan.
    ConversationApiQuotaExceeded = 4318,
    /// 4323 `TEMPORARY_CONVERSATION_EXPIRED`: Temporary conversation expired or does not exist.
    TemporaryConversationExpired = 4323,
    /// 4401 `INVALID_MESSAGING_TARGET`: Conversation does not exist or client is not a member.
    InvalidMessagingTarget = 4401,
    /// 4402 `MESSAGE_REJECTED_BY_APP`: Message rejected by hook.
    MessageRejectedByApp = 4402,
    /// 4403 `MESSAGE_OWNERSHIP_REQUIRED`.
    MessageOwnershipRequired = 4403,
    /// 4404 `MESSAGE_NOT_FOUND`.
    MessageNotFound = 4404,
    /// 4405 `MESSAGE_UPDATE_REJECTED_BY_APP`: Message update rejected by hook.
    MessageUpdateRejectedByApp = 4405,
    /// 4406 `MESSAGE_EDIT_DISABLED`.
    MessageEditDisabled = 4406,
    /// 4407 `MESSAGE_RECALL_DISABLED`.
    MessageRecallDisabled = 4407,
    /// 5130 `OWNER_PROMOTION_NOT_ALLOWED`: Updating a member's role to owner is not allowed.
    OwnerPromotionNotAllowed = 5130,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 43] = [
        Self::CloseNormal,
        Self::CloseAbnormal,
        Self::AppNotAvailable,
        Self::SignatureFailed,
        Self::InvalidLogin,
        Self::SessionRequired,
        Self::ReadTimeout,
        Self::LoginTimeout,
        Self::FrameTooLong,
        Self::InvalidOrigin,
        Self::SessionConflict,
        Self::SessionTokenExpired,
        Self::AppQuotaExceeded,
        Self::KickedByApp,
        Self::MessageSentQuotaExceeded,
        Self::InternalError,
        Self::ConversationApiFailed,
        Self::ConversationSignatureFailed,
        Self::ConversationNotFound,
        Self::ConversationFull,
        Self::ConversationRejectedByApp,
        Self::ConversationUpdateFailed,
        Self::ConversationReadOnly,
        Self::ConversationNotAllowed,
        Self::ConversationUpdateRejected,
        Self::ConversationQueryFailed,
        Self::ConversationLogFailed,
        Self::ConversationLogRejected,
        Self::SystemConversationRequired,
        Self::NormalConversationRequired,
        Self::ConversationBlacklisted,
        Self::TransientConversationRequired,
        Self::ConversationMembershipRequired,
        Self::ConversationApiQuotaExceeded,
        Self::TemporaryConversationExpired,
        Self::InvalidMessagingTarget,
        Self::MessageRejectedByApp,
        Self::MessageOwnershipRequired,
        Self::MessageNotFound,
        Self::MessageUpdateRejectedByApp,
        Self::MessageEditDisabled,
        Self::MessageRecallDisabled,
        Self::OwnerPromotionNotAllowed,
    ];

    /// The numeric code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The symbolic name, e.g. `INVALID_MESSAGING_TARGET` (what servers send as `reason`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::CloseNormal => "CLOSE_NORMAL",
            Self::CloseAbnormal => "CLOSE_ABNORMAL",
            Self::AppNotAvailable => "APP_NOT_AVAILABLE",
            Self::SignatureFailed => "SIGNATURE_FAILED",
            Self::InvalidLogin => "INVALID_LOGIN",
            Self::SessionRequired => "SESSION_REQUIRED",
            Self::ReadTimeout => "READ_TIMEOUT",
            Self::LoginTimeout => "LOGIN_TIMEOUT",
            Self::FrameTooLong => "FRAME_TOO_LONG",
            Self::InvalidOrigin => "INVALID_ORIGIN",
            Self::SessionConflict => "SESSION_CONFLICT",
            Self::SessionTokenExpired => "SESSION_TOKEN_EXPIRED",
            Self::AppQuotaExceeded => "APP_QUOTA_EXCEEDED",
            Self::KickedByApp => "KICKED_BY_APP",
            Self::MessageSentQuotaExceeded => "MESSAGE_SENT_QUOTA_EXCEEDED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::ConversationApiFailed => "CONVERSATION_API_FAILED",
            Self::ConversationSignatureFailed => "CONVERSATION_SIGNATURE_FAILED",
            Self::ConversationNotFound => "CONVERSATION_NOT_FOUND",
            Self::ConversationFull => "CONVERSATION_FULL",
            Self::ConversationRejectedByApp => "CONVERSATION_REJECTED_BY_APP",
            Self::ConversationUpdateFailed => "CONVERSATION_UPDATE_FAILED",
            Self::ConversationReadOnly => "CONVERSATION_READ_ONLY",
            Self::ConversationNotAllowed => "CONVERSATION_NOT_ALLOWED",
            Self::ConversationUpdateRejected => "CONVERSATION_UPDATE_REJECTED",
            Self::ConversationQueryFailed => "CONVERSATION_QUERY_FAILED",
            Self::ConversationLogFailed => "CONVERSATION_LOG_FAILED",
            Self::ConversationLogRejected => "CONVERSATION_LOG_REJECTED",
            Self::SystemConversationRequired => "SYSTEM_CONVERSATION_REQUIRED",
            Self::NormalConversationRequired => "NORMAL_CONVERSATION_REQUIRED",
            Self::ConversationBlacklisted => "CONVERSATION_BLACKLISTED",
            Self::TransientConversationRequired => "TRANSIENT_CONVERSATION_REQUIRED",
            Self::ConversationMembershipRequired => "CONVERSATION_MEMBERSHIP_REQUIRED",
            Self::ConversationApiQuotaExceeded => "CONVERSATION_API_QUOTA_EXCEEDED",
            Self::TemporaryConversationExpired => "TEMPORARY_CONVERSATION_EXPIRED",
            Self::InvalidMessagingTarget => "INVALID_MESSAGING_TARGET",
            Self::MessageRejectedByApp => "MESSAGE_REJECTED_BY_APP",
            Self::MessageOwnershipRequired => "MESSAGE_OWNERSHIP_REQUIRED",
            Self::MessageNotFound => "MESSAGE_NOT_FOUND",
            Self::MessageUpdateRejectedByApp => "MESSAGE_UPDATE_REJECTED_BY_APP",
            Self::MessageEditDisabled => "MESSAGE_EDIT_DISABLED",
            Self::MessageRecallDisabled => "MESSAGE_RECALL_DISABLED",
            Self::OwnerPromotionNotAllowed => "OWNER_PROMOTION_NOT_ALLOWED",
        }
    }

    /// The official SDK's default message for this code (may be empty).
    pub const fn default_message(self) -> &'static str {
        match self {
            Self::CloseNormal => "",
            Self::CloseAbnormal => "",
            Self::AppNotAvailable => "App not exists or realtime message service is disabled.",
            Self::SignatureFailed => "Login signature mismatch.",
            Self::InvalidLogin => "Malformed clientId.",
            Self::SessionRequired => "Message sent before session opened.",
            Self::ReadTimeout => "",
            Self::LoginTimeout => "",
            Self::FrameTooLong => "",
            Self::InvalidOrigin => "Access denied by domain whitelist.",
            Self::SessionConflict => "",
            Self::SessionTokenExpired => "",
            Self::AppQuotaExceeded => "The daily active users limit exceeded.",
            Self::KickedByApp => "",
            Self::MessageSentQuotaExceeded => "Command sent too fast.",
            Self::InternalError => "Internal error, please contact LeanCloud for support.",
            Self::ConversationApiFailed => "Upstream Conversatoin API failed, see error.detail for details.",
            Self::ConversationSignatureFailed => "Conversation action signature mismatch.",
            Self::ConversationNotFound => "",
            Self::ConversationFull => "",
            Self::ConversationRejectedByApp => "Conversation action rejected by hook.",
            Self::ConversationUpdateFailed => "",
            Self::ConversationReadOnly => "",
            Self::ConversationNotAllowed => "",
            Self::ConversationUpdateRejected => {
                "Conversation update rejected because the client is not a member."
            }
            Self::ConversationQueryFailed => "Conversation query failed because it is too expansive.",
            Self::ConversationLogFailed => "",
            Self::ConversationLogRejected => {
                "Message query rejected because the client is not a member of the conversation."
            }
            Self::SystemConversationRequired => "",
            Self::NormalConversationRequired => "",
            Self::ConversationBlacklisted => "Blacklisted in the conversation.",
            Self::TransientConversationRequired => "",
            Self::ConversationMembershipRequired => "",
            Self::ConversationApiQuotaExceeded => "LeanCloud API quota exceeded. You may upgrade your plan.",
            Self::TemporaryConversationExpired => "Temporary conversation expired or does not exist.",
            Self::InvalidMessagingTarget => "Conversation does not exist or client is not a member.",
            Self::MessageRejectedByApp => "Message rejected by hook.",
            Self::MessageOwnershipRequired => "",
            Self::MessageNotFound => "",
            Self::MessageUpdateRejectedByApp => "Message update rejected by hook.",
            Self::MessageEditDisabled => "",
            Self::MessageRecallDisabled => "",
            Self::OwnerPromotionNotAllowed => "Updating a member's role to owner is not allowed.",
        }
    }

    /// The error code with this number, if it is one of the protocol's.
    pub const fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            1000 => Self::CloseNormal,
            1006 => Self::CloseAbnormal,
            4100 => Self::AppNotAvailable,
            4102 => Self::SignatureFailed,
            4103 => Self::InvalidLogin,
            4105 => Self::SessionRequired,
            4107 => Self::ReadTimeout,
            4108 => Self::LoginTimeout,
            4109 => Self::FrameTooLong,
            4110 => Self::InvalidOrigin,
            4111 => Self::SessionConflict,
            4112 => Self::SessionTokenExpired,
            4113 => Self::AppQuotaExceeded,
            4115 => Self::KickedByApp,
            4116 => Self::MessageSentQuotaExceeded,
            4200 => Self::InternalError,
            4301 => Self::ConversationApiFailed,
            4302 => Self::ConversationSignatureFailed,
            4303 => Self::ConversationNotFound,
            4304 => Self::ConversationFull,
            4305 => Self::ConversationRejectedByApp,
            4306 => Self::ConversationUpdateFailed,
            4307 => Self::ConversationReadOnly,
            4308 => Self::ConversationNotAllowed,
            4309 => Self::ConversationUpdateRejected,
            4310 => Self::ConversationQueryFailed,
            4311 => Self::ConversationLogFailed,
            4312 => Self::ConversationLogRejected,
            4313 => Self::SystemConversationRequired,
            4314 => Self::NormalConversationRequired,
            4315 => Self::ConversationBlacklisted,
            4316 => Self::TransientConversationRequired,
            4317 => Self::ConversationMembershipRequired,
            4318 => Self::ConversationApiQuotaExceeded,
            4323 => Self::TemporaryConversationExpired,
            4401 => Self::InvalidMessagingTarget,
            4402 => Self::MessageRejectedByApp,
            4403 => Self::MessageOwnershipRequired,
            4404 => Self::MessageNotFound,
            4405 => Self::MessageUpdateRejectedByApp,
            4406 => Self::MessageEditDisabled,
            4407 => Self::MessageRecallDisabled,
            5130 => Self::OwnerPromotionNotAllowed,
            _ => return None,
        })
    }

    /// An `ErrorCommand` with this code, its name as `reason` and `detail` when given: both proto2
    /// `required` fields are always filled.
    pub fn to_command(self, detail: Option<String>) -> ErrorCommand {
        ErrorCommand {
            code: self.code(),
            reason: self.name().to_owned(),
            detail,
            ..Default::default()
        }
    }

    /// Whether a WebSocket closed with this code must not be reconnected.
    pub const fn is_fatal_close(self) -> bool {
        is_fatal_close_code(self.code() as u16)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

/// Whether a WebSocket close code means "do not reconnect": 4100 `APP_NOT_AVAILABLE`, 4103
/// `INVALID_LOGIN` and 4110 `INVALID_ORIGIN` (the JS SDK's rule, `src/realtime.js`). Every other close,
/// including an abnormal one, is followed by a reconnect.
pub const fn is_fatal_close_code(code: u16) -> bool {
    matches!(code, 4100 | 4103 | 4110)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_numbers_agree() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            assert!(code.name().chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
        assert!(
            ErrorCode::ALL
                .windows(2)
                .all(|pair| pair[0].code() < pair[1].code())
        );
        assert_eq!(
            ErrorCode::from_code(4401),
            Some(ErrorCode::InvalidMessagingTarget)
        );
        assert_eq!(
            ErrorCode::InvalidMessagingTarget.name(),
            "INVALID_MESSAGING_TARGET"
        );
        assert_eq!(ErrorCode::from_code(4115), Some(ErrorCode::KickedByApp));
        assert_eq!(ErrorCode::KickedByApp.name(), "KICKED_BY_APP");
        assert_eq!(ErrorCode::from_code(4999), None);
        assert_eq!(ErrorCode::SessionConflict.to_string(), "4111 SESSION_CONFLICT");
    }

    #[test]
    fn error_commands_fill_both_required_fields() {
        let command = ErrorCode::ConversationNotFound.to_command(None);
        assert_eq!(
            (command.code, command.reason.as_str()),
            (4303, "CONVERSATION_NOT_FOUND")
        );
    }

    #[test]
    fn only_three_close_codes_are_fatal() {
        let fatal: Vec<u16> = (1000..=5000).filter(|code| is_fatal_close_code(*code)).collect();
        assert_eq!(fatal, [4100, 4103, 4110]);
        assert!(ErrorCode::InvalidLogin.is_fatal_close());
        assert!(!ErrorCode::SessionConflict.is_fatal_close());
    }
}
