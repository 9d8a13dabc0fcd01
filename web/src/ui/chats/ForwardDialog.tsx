// OWNER: chats-list. Placeholder until that work lands; the export is the contract.
export function ForwardDialog(_p: { fromConv: string; messageIds: string[]; onClose: () => void }) {
  return <section class="placeholder">ForwardDialog</section>;
}
