// Uploads and downloads of files with progress, and pictures of the API as
// blob: URLs (an <img> cannot send the bearer token, and the CSP allows blob:).
// OWNER: media. Placeholder until that work lands; the exports are the contract.
import type { FileInfo } from './types';

export async function uploadFile(_file: Blob & { name?: string }, _onProgress?: (f: number) => void, _signal?: AbortSignal): Promise<FileInfo> {
  throw new Error('not built yet');
}
export async function fetchBlobUrl(_url: string): Promise<string> {
  throw new Error('not built yet');
}
export async function downloadFile(_fileId: string, _name: string, _onProgress?: (f: number) => void): Promise<void> {
  throw new Error('not built yet');
}
