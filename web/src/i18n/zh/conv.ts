// 简体中文: the conversation view. Same keys as ../en/conv.ts (a unit test checks).
export default {
} as Record<string, string>;
