// OWNER: media. Placeholder until the media work lands; the export is the contract.

export function AttachButton(_p: { convId: string; replyTo?: string }) {
  return <section class="placeholder">AttachButton</section>;
}
