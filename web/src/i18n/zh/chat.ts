// 简体中文: the chat screens. Same keys as ../en/chat.ts (a unit test checks).
export default {
} as Record<string, string>;
