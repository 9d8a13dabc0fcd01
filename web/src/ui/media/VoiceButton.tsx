// OWNER: media. Placeholder until the media work lands; the export is the contract.

export function VoiceButton(_p: { convId: string }) {
  return <section class="placeholder">VoiceButton</section>;
}
