// English strings of the chat screens. Keys are "chat.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
