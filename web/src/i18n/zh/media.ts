// 简体中文: the media screens. Same keys as ../en/media.ts (a unit test checks).
export default {
} as Record<string, string>;
