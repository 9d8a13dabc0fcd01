// The shapes of Magpie's API objects, as docs/protocol.md defines them.
// Ids are decimal strings (64-bit), times are ms since the epoch.

export type Id = string;

export interface ApiErrorBody {
  error: { code: string; message: string };
}

export interface Tokens {
  user_id: Id;
  device_id: Id;
  access_token: string;
  token_type: 'Bearer';
  expires_in: number; // seconds
  refresh_token: string;
  guest?: boolean;
}

export interface Me {
  user_id: Id;
  username: string;
  display_name: string;
  created_at: number;
  guest: boolean;
  bio: string;
  avatar_file_id: Id | null;
  admin: boolean;
  email: string | null;
}

export type ContactState = 'none' | 'outgoing' | 'incoming' | 'friends';

export interface Profile {
  user_id: Id;
  username: string;
  display_name: string;
  bio?: string;
  avatar_file_id?: Id | null;
  guest?: boolean;
  deleted?: boolean;
  created_at?: number;
  contact?: ContactState;
  blocked?: boolean;
}

export interface Device {
  device_id: Id;
  name: string;
  created_at: number;
  last_seen_at?: number;
  current?: boolean;
  [k: string]: unknown;
}

export interface ConvSettings {
  muted_until: number; // 0 on, -1 forever, else ms
  pinned: boolean;
  archived: boolean;
  cleared_seq: number;
  deleted: boolean;
}

export type MessageKind =
  | 'text' | 'image' | 'file' | 'voice' | 'video' | 'location' | 'contact' | 'system';

export interface Reaction {
  emoji: string;
  count: number;
  me: boolean;
}

export interface Message {
  message_id: Id;
  conversation: Id;
  seq: number;
  sender: Id;
  kind: MessageKind;
  text: string;
  created_at: number;
  content?: Record<string, any>;
  system?: Record<string, any>;
  sender_guest?: boolean;
  client_msg_id?: string;
  reply_to?: { message_id: Id; sender?: Id; kind?: MessageKind; text?: string; deleted?: boolean };
  forwarded_from?: { sender: Id; created_at: number };
  mentions?: Id[];
  mention_all?: boolean;
  edited_at?: number;
  deleted?: boolean;
  deleted_at?: number;
  reactions?: Reaction[];
  pinned_at?: number;
  pinned_by?: Id;
}

export type ConvKind = 'direct' | 'group' | 'world';

/** One entry of GET /v1/conversations. */
export interface ConversationEntry {
  conversation_id: Id;
  kind: ConvKind;
  peer?: Profile;
  title?: string;
  avatar_file_id?: Id | null;
  last_message: Message | null;
  last_seq: number;
  read_seq: number;
  delivered_seq?: number;
  unread: number;
  unread_mentions: number;
  active_at: number;
  settings: ConvSettings;
  pinned_messages?: Id[];
}

export interface GroupSettings {
  who_can_post: string;
  who_can_invite: string;
  who_can_edit_info: string;
  who_can_pin: string;
}

export interface Group {
  conversation_id: Id;
  kind: 'group';
  title: string;
  description: string;
  avatar_file_id: Id | null;
  member_count: number;
  my_role: 'owner' | 'admin' | 'member' | string;
  settings: GroupSettings;
  announcement: { text: string; set_by: Id; set_at: number } | null;
  dissolved: boolean;
  owner_id: Id;
  created_at: number;
}

export interface FileInfo {
  file_id: Id;
  class: 'image' | 'audio' | 'video' | 'other' | string;
  mime: string;
  size: number;
  name?: string;
  width?: number;
  height?: number;
  duration_ms?: number;
  preview?: string;
  url: string;
  thumbnail_url?: string;
  [k: string]: unknown;
}

/** A WebSocket reply frame's fields (after `id`/`ok` are taken off). */
export type Reply = Record<string, any>;
/** A WebSocket event frame: {"event": name, ...}. */
export type EventFrame = { event: string } & Record<string, any>;

/** One side of a contact relation (docs/protocol.md, Contacts). */
export interface ContactEntry {
  user: Profile;
  state: ContactState;
  message: string;
  created_at: number;
  updated_at: number;
}

/** A reply of the `sync` verb. */
export interface SyncReply {
  cursor: string;
  has_more: boolean;
  conversations: (Omit<Partial<ConversationEntry>, 'peer'> & { conversation_id: Id; peer?: Id })[];
  messages: Message[];
  receipts: { conversation: Id; user_id: Id; read_seq?: number; delivered_seq?: number }[];
  hidden: { conversation: Id; message_id: Id }[];
  contacts: ContactEntry[];
}
