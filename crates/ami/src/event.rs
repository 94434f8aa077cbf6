use crate::channel::{BridgeInfo, ChannelInfo};
use crate::message::{Message, MessageKind};
use crate::text::Text;

macro_rules! ev_ty {
    (chan) => { Option<ChannelInfo> };
    (bridge) => { Option<BridgeInfo> };
    (text) => { Option<Text> };
    (int) => { Option<i64> };
}

macro_rules! ev_parse {
    (chan, $m:expr, $k:literal) => {
        ChannelInfo::parse($m, $k)
    };
    (bridge, $m:expr, $k:literal) => {
        BridgeInfo::parse($m, $k)
    };
    (text, $m:expr, $k:literal) => {
        $m.get($k)
    };
    (int, $m:expr, $k:literal) => {
        $m.get_str($k).and_then(|v| v.trim().parse().ok())
    };
}

macro_rules! events {
    ($(
        $(#[$doc:meta])*
        $name:ident = $wire:literal {
            $( $field:ident : $kind:ident ($key:literal) ),* $(,)?
        }
    )*) => {
        $(
            $(#[$doc])*
            ///
            /// Fields are `None` when the header is absent; `raw` holds every header.
            #[derive(Clone, Debug, PartialEq)]
            #[non_exhaustive]
            pub struct $name {
                $(
                    #[doc = concat!("From `", $key, "` (", stringify!($kind), ").")]
                    pub $field: ev_ty!($kind),
                )*
                /// The whole message.
                pub raw: Message,
            }

            impl $name {
                fn parse(raw: Message) -> Self {
                    $name { $( $field: ev_parse!($kind, &raw, $key), )* raw }
                }
            }
        )*

        /// A typed AMI event. Unknown or deliberately untyped events are [`Event::Other`]:
        /// no event is ever dropped.
        ///
        /// Payloads are boxed so the enum stays small in queues.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            $(
                #[doc = concat!("`Event: ", $wire, "`.")]
                $name(Box<$name>),
            )*
            /// Any other event (see [`Event::is_deliberately_raw`]), kept whole.
            Other(Message),
        }

        impl Event {
            /// Types `msg`. Returns `Err(msg)` when it is not an event.
            pub fn from_message(msg: Message) -> Result<Event, Message> {
                if msg.kind() != MessageKind::Event {
                    return Err(msg);
                }
                let name = msg.first_value().unwrap_or_default();
                Ok(match name {
                    $( n if n == $wire.as_bytes() => Event::$name(Box::new($name::parse(msg))), )*
                    _ => Event::Other(msg),
                })
            }

            /// The whole message.
            pub fn raw(&self) -> &Message {
                match self {
                    $( Event::$name(e) => &e.raw, )*
                    Event::Other(m) => m,
                }
            }

            /// Unwraps the whole message.
            pub fn into_raw(self) -> Message {
                match self {
                    $( Event::$name(e) => e.raw, )*
                    Event::Other(m) => m,
                }
            }

            /// True when the event is typed (not [`Event::Other`]).
            pub fn is_typed(&self) -> bool {
                !matches!(self, Event::Other(_))
            }

            /// The event names this crate types.
            pub const TYPED_NAMES: &'static [&'static str] = &[$($wire),*];
        }
    };
}

/// Event names deliberately left as [`Event::Other`]: RTP statistics and the security
/// events, which a call center does not act on (their headers stay available in the raw message).
pub const DELIBERATELY_RAW: &[&str] = &[
    "RTCPSent",
    "RTCPReceived",
    "SuccessfulAuth",
    "RequestBadFormat",
    "RequestNotAllowed",
    "ChallengeSent",
    "ChallengeResponseFailed",
    "InvalidPassword",
    "InvalidAccountID",
    "FailedACL",
    "SessionLimit",
    "MemoryLimit",
    "LoadAverageLimit",
    "UnexpectedAddress",
    "InvalidTransport",
    "AuthMethodNotAllowed",
    "RequestNotSupported",
    "SecurityEvent",
];

impl Event {
    /// The event name (`Event:` header).
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.raw().first_value().unwrap_or_default()).unwrap_or("")
    }

    /// Any header of the event (ASCII case-insensitive), e.g. `"Uniqueid"` or `"Linkedid"`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.raw().get_str(key)
    }

    /// The `ActionID` header (list events, `OriginateResponse`).
    pub fn action_id(&self) -> Option<&str> {
        self.raw().get_str("ActionID")
    }

    /// True for an untyped event whose name is in [`DELIBERATELY_RAW`].
    pub fn is_deliberately_raw(&self) -> bool {
        match self {
            Event::Other(m) => {
                let n = m.first_value().unwrap_or_default();
                DELIBERATELY_RAW.iter().any(|d| d.as_bytes() == n)
            }
            _ => false,
        }
    }

    /// True for the event closing an event list (`...Complete`, or `EventList: Complete`).
    pub fn is_list_complete(&self) -> bool {
        let raw = self.raw();
        raw.get("EventList")
            .is_some_and(|v| v.eq_ignore_case("Complete"))
            || raw.first_value().is_some_and(|n| n.ends_with(b"Complete"))
    }
}

events! {
    // --- channel lifecycle ---
    /// A channel was created.
    Newchannel = "Newchannel" { channel: chan("") }
    /// A channel changed state (Ring, Ringing, Up...).
    Newstate = "Newstate" { channel: chan("") }
    /// A channel entered a dialplan priority.
    Newexten = "Newexten" {
        channel: chan(""), extension: text("Extension"), application: text("Application"), app_data: text("AppData")
    }
    /// Caller ID changed.
    NewCallerid = "NewCallerid" { channel: chan(""), cid_calling_pres: text("CID-CallingPres") }
    /// Connected line changed.
    NewConnectedLine = "NewConnectedLine" { channel: chan("") }
    /// Account code changed.
    NewAccountCode = "NewAccountCode" { channel: chan(""), old_account_code: text("OldAccountCode") }
    /// A channel was renamed.
    Rename = "Rename" { channel: chan(""), new_name: text("Newname") }
    /// A channel was hung up.
    Hangup = "Hangup" { channel: chan(""), cause: int("Cause"), cause_txt: text("Cause-txt") }
    /// The far end asked to hang up (e.g. a BYE).
    HangupRequest = "HangupRequest" { channel: chan(""), cause: int("Cause") }
    /// Asterisk itself is tearing the channel down.
    SoftHangupRequest = "SoftHangupRequest" { channel: chan(""), cause: int("Cause") }

    // --- dialing ---
    /// A dial started (`channel` is absent for an Originate's own dial).
    DialBegin = "DialBegin" { channel: chan(""), dest: chan("Dest"), dial_string: text("DialString") }
    /// A dial progressed (RINGING, PROGRESS...).
    DialState = "DialState" { channel: chan(""), dest: chan("Dest"), dial_status: text("DialStatus") }
    /// A dial ended (ANSWER, BUSY, NOANSWER, CANCEL...).
    DialEnd = "DialEnd" {
        channel: chan(""), dest: chan("Dest"), dial_status: text("DialStatus"), forward: text("Forward")
    }
    /// The result of an async Originate (matched to it by `ActionID`).
    OriginateResponse = "OriginateResponse" {
        action_id: text("ActionID"), response: text("Response"), channel: text("Channel"),
        context: text("Context"), exten: text("Exten"), reason: int("Reason"), uniqueid: text("Uniqueid"),
        caller_id_num: text("CallerIDNum"), caller_id_name: text("CallerIDName")
    }

    // --- bridging ---
    /// A bridge was created.
    BridgeCreate = "BridgeCreate" { bridge: bridge("") }
    /// A channel entered a bridge.
    BridgeEnter = "BridgeEnter" { bridge: bridge(""), channel: chan(""), swap_uniqueid: text("SwapUniqueid") }
    /// A channel left a bridge.
    BridgeLeave = "BridgeLeave" { bridge: bridge(""), channel: chan("") }
    /// A bridge was destroyed.
    BridgeDestroy = "BridgeDestroy" { bridge: bridge("") }
    /// Two bridges were merged (`from` into `to`).
    BridgeMerge = "BridgeMerge" { to: bridge("To"), from: bridge("From") }
    /// The two halves of a Local channel were bridged.
    LocalBridge = "LocalBridge" {
        local_one: chan("LocalOne"), local_two: chan("LocalTwo"), context: text("Context"),
        exten: text("Exten"), local_optimization: text("LocalOptimization")
    }
    /// A Local channel optimisation started.
    LocalOptimizationBegin = "LocalOptimizationBegin" {
        local_one: chan("LocalOne"), local_two: chan("LocalTwo"), source: chan("Source"), id: text("Id")
    }
    /// A Local channel optimisation ended.
    LocalOptimizationEnd = "LocalOptimizationEnd" {
        local_one: chan("LocalOne"), local_two: chan("LocalTwo"), success: text("Success"), id: text("Id")
    }

    // --- hold ---
    /// A channel put its peer on hold.
    Hold = "Hold" { channel: chan(""), music_class: text("MusicClass") }
    /// A channel took its peer off hold.
    Unhold = "Unhold" { channel: chan("") }
    /// Music on hold started on a channel.
    MusicOnHoldStart = "MusicOnHoldStart" { channel: chan(""), class: text("Class") }
    /// Music on hold stopped on a channel.
    MusicOnHoldStop = "MusicOnHoldStop" { channel: chan("") }

    // --- transfer ---
    /// A blind transfer.
    BlindTransfer = "BlindTransfer" {
        result: text("Result"), transferer: chan("Transferer"), transferee: chan("Transferee"),
        bridge: bridge(""), is_external: text("IsExternal"), context: text("Context"),
        extension: text("Extension")
    }
    /// An attended transfer.
    AttendedTransfer = "AttendedTransfer" {
        result: text("Result"), orig_transferer: chan("OrigTransferer"), orig_bridge: bridge("Orig"),
        second_transferer: chan("SecondTransferer"), second_bridge: bridge("Second"),
        transferee: chan("Transferee"), transfer_target: chan("TransferTarget"),
        dest_type: text("DestType"), dest_bridge_uniqueid: text("DestBridgeUniqueid"),
        dest_app: text("DestApp"), local_one: chan("LocalOne"), local_two: chan("LocalTwo"),
        dest_transferer_channel: text("DestTransfererChannel"), is_external: text("IsExternal")
    }

    // --- parking ---
    /// A call was parked.
    ParkedCall = "ParkedCall" {
        parkee: chan("Parkee"), parker: chan("Parker"), parker_dial_string: text("ParkerDialString"),
        parkinglot: text("Parkinglot"), parking_space: text("ParkingSpace"),
        parking_timeout: int("ParkingTimeout"), parking_duration: int("ParkingDuration")
    }
    /// A parked call timed out.
    ParkedCallTimeOut = "ParkedCallTimeOut" {
        parkee: chan("Parkee"), parker: chan("Parker"), parker_dial_string: text("ParkerDialString"),
        parkinglot: text("Parkinglot"), parking_space: text("ParkingSpace"),
        parking_timeout: int("ParkingTimeout"), parking_duration: int("ParkingDuration")
    }
    /// A parked caller hung up.
    ParkedCallGiveUp = "ParkedCallGiveUp" {
        parkee: chan("Parkee"), parker: chan("Parker"), parker_dial_string: text("ParkerDialString"),
        parkinglot: text("Parkinglot"), parking_space: text("ParkingSpace"),
        parking_timeout: int("ParkingTimeout"), parking_duration: int("ParkingDuration")
    }
    /// A parked call was picked up.
    UnParkedCall = "UnParkedCall" {
        parkee: chan("Parkee"), parker: chan("Parker"), retriever: chan("Retriever"),
        parker_dial_string: text("ParkerDialString"), parkinglot: text("Parkinglot"),
        parking_space: text("ParkingSpace"), parking_timeout: int("ParkingTimeout"),
        parking_duration: int("ParkingDuration")
    }

    // --- recording ---
    /// MixMonitor started on a channel (no file name: keep it from the action).
    MixMonitorStart = "MixMonitorStart" { channel: chan("") }
    /// MixMonitor stopped.
    MixMonitorStop = "MixMonitorStop" { channel: chan("") }
    /// MixMonitor mute changed.
    MixMonitorMute = "MixMonitorMute" { channel: chan(""), direction: text("Direction"), state: text("State") }

    // --- DTMF, variables, user events, records ---
    /// A DTMF digit started.
    DTMFBegin = "DTMFBegin" { channel: chan(""), digit: text("Digit"), direction: text("Direction") }
    /// A DTMF digit ended.
    DTMFEnd = "DTMFEnd" {
        channel: chan(""), digit: text("Digit"), direction: text("Direction"), duration_ms: int("DurationMs")
    }
    /// A channel (or global) variable was set.
    VarSet = "VarSet" { channel: chan(""), variable: text("Variable"), value: text("Value") }
    /// A `UserEvent` from the dialplan or an action.
    UserEvent = "UserEvent" { channel: chan(""), user_event: text("UserEvent") }
    /// A call detail record (cdr_manager).
    Cdr = "Cdr" {
        account_code: text("AccountCode"), source: text("Source"), destination: text("Destination"),
        destination_context: text("DestinationContext"), caller_id: text("CallerID"),
        channel: text("Channel"), destination_channel: text("DestinationChannel"),
        last_application: text("LastApplication"), last_data: text("LastData"),
        start_time: text("StartTime"), answer_time: text("AnswerTime"), end_time: text("EndTime"),
        duration: int("Duration"), billable_seconds: int("BillableSeconds"),
        disposition: text("Disposition"), ama_flags: text("AMAFlags"), unique_id: text("UniqueID"),
        user_field: text("UserField")
    }
    /// A channel event log record (cel_manager).
    Cel = "CEL" {
        event_name: text("EventName"), channel: text("Channel"), unique_id: text("UniqueID"),
        linked_id: text("LinkedID"), caller_id_num: text("CallerIDnum"),
        caller_id_name: text("CallerIDname"), exten: text("Exten"), context: text("Context"),
        application: text("Application"), app_data: text("AppData"), event_time: text("EventTime"),
        peer: text("Peer"), extra: text("Extra")
    }

    // --- queues and agents ---
    /// A caller joined a queue.
    QueueCallerJoin = "QueueCallerJoin" {
        channel: chan(""), queue: text("Queue"), position: int("Position"), count: int("Count")
    }
    /// A caller left a queue (answered or gave up).
    QueueCallerLeave = "QueueCallerLeave" {
        channel: chan(""), queue: text("Queue"), position: int("Position"), count: int("Count")
    }
    /// A caller hung up while waiting in a queue.
    QueueCallerAbandon = "QueueCallerAbandon" {
        channel: chan(""), queue: text("Queue"), position: int("Position"),
        original_position: int("OriginalPosition"), hold_time: int("HoldTime")
    }
    /// A queue member is being rung.
    AgentCalled = "AgentCalled" {
        channel: chan(""), dest: chan("Dest"), queue: text("Queue"), interface: text("Interface"),
        member_name: text("MemberName")
    }
    /// A queue member answered.
    AgentConnect = "AgentConnect" {
        channel: chan(""), dest: chan("Dest"), queue: text("Queue"), interface: text("Interface"),
        member_name: text("MemberName"), hold_time: int("HoldTime"), ring_time: int("RingTime")
    }
    /// A queue call ended.
    AgentComplete = "AgentComplete" {
        channel: chan(""), dest: chan("Dest"), queue: text("Queue"), interface: text("Interface"),
        member_name: text("MemberName"), hold_time: int("HoldTime"), talk_time: int("TalkTime"),
        reason: text("Reason")
    }
    /// A queue member did not answer.
    AgentRingNoAnswer = "AgentRingNoAnswer" {
        channel: chan(""), dest: chan("Dest"), queue: text("Queue"), interface: text("Interface"),
        member_name: text("MemberName"), ring_time: int("RingTime")
    }
    /// The caller hung up while a member was being connected.
    AgentDump = "AgentDump" {
        channel: chan(""), dest: chan("Dest"), queue: text("Queue"), interface: text("Interface"),
        member_name: text("MemberName")
    }
    /// A queue member's status changed.
    QueueMemberStatus = "QueueMemberStatus" {
        queue: text("Queue"), member_name: text("MemberName"), interface: text("Interface"),
        state_interface: text("StateInterface"), status: int("Status"), paused: text("Paused"),
        in_call: text("InCall"), calls_taken: int("CallsTaken")
    }
    /// A member was added to a queue.
    QueueMemberAdded = "QueueMemberAdded" {
        queue: text("Queue"), member_name: text("MemberName"), interface: text("Interface"),
        state_interface: text("StateInterface"), status: int("Status"), paused: text("Paused")
    }
    /// A member was removed from a queue.
    QueueMemberRemoved = "QueueMemberRemoved" {
        queue: text("Queue"), member_name: text("MemberName"), interface: text("Interface")
    }
    /// A member was paused or unpaused.
    QueueMemberPause = "QueueMemberPause" {
        queue: text("Queue"), member_name: text("MemberName"), interface: text("Interface"),
        paused: text("Paused"), reason: text("Reason")
    }

    // --- device, contact and system state ---
    /// A device state changed.
    DeviceStateChange = "DeviceStateChange" { device: text("Device"), state: text("State") }
    /// An extension hint state changed.
    ExtensionStatus = "ExtensionStatus" {
        exten: text("Exten"), context: text("Context"), hint: text("Hint"), status: int("Status"),
        status_text: text("StatusText")
    }
    /// A PJSIP contact changed status.
    ContactStatus = "ContactStatus" {
        uri: text("URI"), contact_status: text("ContactStatus"), aor: text("AOR"),
        endpoint_name: text("EndpointName"), round_trip_usec: text("RoundtripUsec")
    }
    /// A peer (endpoint) changed status.
    PeerStatus = "PeerStatus" {
        channel_type: text("ChannelType"), peer: text("Peer"), peer_status: text("PeerStatus"),
        cause: text("Cause")
    }
    /// Asterisk finished booting (also sent right after login).
    FullyBooted = "FullyBooted" { status: text("Status"), uptime: int("Uptime"), last_reload: int("LastReload") }
    /// Asterisk is shutting down.
    Shutdown = "Shutdown" { shutdown: text("Shutdown"), restart: text("Restart") }
    /// A module was reloaded.
    Reload = "Reload" { module: text("Module"), status: text("Status") }

    // --- list events (answers to list actions) ---
    /// One channel of `CoreShowChannels`.
    CoreShowChannel = "CoreShowChannel" {
        channel: chan(""), application: text("Application"), application_data: text("ApplicationData"),
        duration: text("Duration"), bridge_id: text("BridgeId")
    }
    /// End of `CoreShowChannels`.
    CoreShowChannelsComplete = "CoreShowChannelsComplete" { list_items: int("ListItems") }
    /// One channel of `Status` (variables are repeated `Variable` headers in `raw`).
    Status = "Status" {
        channel: chan(""), channel_type: text("Type"), application: text("Application"), data: text("Data"),
        bridge_id: text("BridgeID"), seconds: int("Seconds")
    }
    /// End of `Status`.
    StatusComplete = "StatusComplete" { items: int("Items"), list_items: int("ListItems") }
    /// One bridge of `BridgeList`.
    BridgeListItem = "BridgeListItem" { bridge: bridge("") }
    /// End of `BridgeList`.
    BridgeListComplete = "BridgeListComplete" { list_items: int("ListItems") }
    /// One queue of `QueueStatus`.
    QueueParams = "QueueParams" {
        queue: text("Queue"), max: int("Max"), strategy: text("Strategy"), calls: int("Calls"),
        hold_time: int("Holdtime"), talk_time: int("TalkTime"), completed: int("Completed"),
        abandoned: int("Abandoned")
    }
    /// One member of `QueueStatus`.
    QueueMember = "QueueMember" {
        queue: text("Queue"), name: text("Name"), location: text("Location"),
        state_interface: text("StateInterface"), status: int("Status"), paused: text("Paused"),
        in_call: text("InCall"), calls_taken: int("CallsTaken")
    }
    /// One waiting caller of `QueueStatus`.
    QueueEntry = "QueueEntry" {
        queue: text("Queue"), position: int("Position"), channel: text("Channel"),
        uniqueid: text("Uniqueid"), wait: int("Wait")
    }
    /// End of `QueueStatus`.
    QueueStatusComplete = "QueueStatusComplete" { list_items: int("ListItems") }
}
