// OWNER: people. Placeholder until that work lands; the export is the contract.
export function ProfileDialog(_p: { userId: string; onClose: () => void }) {
  return <section class="placeholder">ProfileDialog</section>;
}
