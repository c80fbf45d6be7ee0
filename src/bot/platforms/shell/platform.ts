/**
 * `ShellPlatform`: the chat platform of a terminal (the demo). Each line read from `input` is one
 * `Invocation` (a leading `/gitops` is accepted; `exit`, `quit` and end of input stop it); replies
 * and posted messages are rendered as text (colour on a TTY) to `output`. With a non-TTY input it
 * reads line by line until EOF, which makes it scriptable: `printf 'status\n' | gitops-bot demo`.
 */
import { userInfo } from "node:os";
import { createInterface, type Interface } from "node:readline";
import { renderText } from "../../../chat/shell/render.js";
import type { Message } from "../../../core/message.js";
import { stripPrefix } from "../../parse.js";
import type { ChatPlatform, ChatUser, Invocation, InvocationHandler, MessageRef } from "../../platform.js";

/** Options of the shell platform. */
export interface ShellPlatformOptions {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** Colour output; default: when `output` is a TTY and NO_COLOR is not set by the caller. */
  color?: boolean;
  /** The local user (default: the OS user). */
  user?: ChatUser;
  /** Prompt shown on a TTY. */
  prompt?: string;
}

/** The shell front end. `start()` resolves when the input ends or the user types `exit`. */
export class ShellPlatform implements ChatPlatform {
  readonly name = "shell" as const;
  private handler: InvocationHandler | undefined;
  private rl: Interface | undefined;
  private seq = 0;
  private busy = false;
  private readonly queued: Message[] = [];
  private readonly color: boolean;
  readonly interactive: boolean;
  readonly user: ChatUser;

  constructor(private readonly opts: ShellPlatformOptions) {
    this.interactive = opts.input.isTTY === true && opts.output.isTTY === true;
    this.color = opts.color ?? opts.output.isTTY === true;
    const os = safeUserName();
    this.user = opts.user ?? { id: `shell:${os}`, name: os };
  }

  onInvocation(handler: InvocationHandler): void {
    this.handler = handler;
  }

  /** Prints a message as the bot would post it in a channel. */
  async send(channel: string, msg: Message, opts?: { threadId?: string }): Promise<MessageRef> {
    const id = String(++this.seq);
    this.print(msg);
    return { platform: "shell", channel, id, ...(opts?.threadId ? { threadId: opts.threadId } : {}) };
  }

  async update(_ref: MessageRef, msg: Message): Promise<void> {
    this.print(msg);
  }

  /** Prints a notification the bot would post; during a command it waits until after the reply. */
  notify(msg: Message): void {
    if (this.busy) this.queued.push(msg);
    else this.print(msg);
  }

  /** Writes plain text (banners, notices). */
  write(text: string): void {
    this.opts.output.write(text);
  }

  /** Reads lines until EOF or `exit`; each line runs to completion before the next is read. */
  async start(): Promise<void> {
    const rl = createInterface({
      input: this.opts.input,
      output: this.opts.output,
      terminal: this.interactive,
      prompt: this.opts.prompt ?? "gitops> ",
    });
    this.rl = rl;
    if (this.interactive) rl.prompt();
    for await (const raw of rl) {
      const line = stripPrefix(raw);
      if (!this.interactive && raw.trim() !== "")
        this.opts.output.write(`${this.opts.prompt ?? "gitops> "}${raw}\n`);
      if (/^(exit|quit|bye)$/iu.test(line)) break;
      if (line !== "" && !line.startsWith("#")) await this.dispatch(line);
      if (this.interactive) rl.prompt();
    }
    rl.close();
    this.rl = undefined;
  }

  /** Runs one command line as the shell user (the test seam). */
  async dispatch(text: string): Promise<void> {
    if (!this.handler) throw new Error("ShellPlatform: no invocation handler registered");
    const inv: Invocation = {
      id: `shell-${process.pid}-${++this.seq}`,
      platform: "shell",
      text,
      user: this.user,
      channel: "shell",
      receivedAt: new Date(),
    };
    this.busy = true;
    try {
      await this.handler(inv, { reply: (msg) => this.send("shell", msg) });
    } finally {
      this.busy = false;
      for (const msg of this.queued.splice(0)) this.print(msg);
    }
  }

  async stop(): Promise<void> {
    this.rl?.close();
  }

  private print(msg: Message): void {
    this.opts.output.write(`${renderText(msg, { color: this.color })}\n`);
  }
}

function safeUserName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, "") || "you";
  } catch {
    return "you";
  }
}
