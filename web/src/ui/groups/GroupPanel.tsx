// OWNER: groups. Placeholder until the groups work lands; the export is the contract.

export function GroupPanel(_p: { convId: string; onClose: () => void }) {
  return <section class="placeholder">GroupPanel</section>;
}
