// OWNER: conversation. Placeholder until the conversation work lands; the export is the contract.

export function ConversationView(_p: { convId: string; onBack?: () => void }) {
  return <section class="placeholder">ConversationView</section>;
}
