// OWNER: media. Placeholder until the media work lands; the export is the contract.
import type { LocalMessage } from '../../state/chat';
export function MessageContent(_p: { message: LocalMessage }) {
  return <section class="placeholder">MessageContent</section>;
}
