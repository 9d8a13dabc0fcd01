// OWNER: chats-list. Placeholder until the chats-list work lands; the export is the contract.

export function SearchPanel(_p: { convId?: string; onClose: () => void }) {
  return <section class="placeholder">SearchPanel</section>;
}
