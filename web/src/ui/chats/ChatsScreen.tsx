// OWNER: chats-list. Placeholder until the chats-list work lands; the export is the contract.

export function ChatsScreen(_p: { convId?: string }) {
  return <section class="placeholder">ChatsScreen</section>;
}
