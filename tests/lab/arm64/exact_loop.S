/* A program of a known instruction count: ITERS passes of a two-instruction loop,
 * then exit(0), with no C library. It retires 2*ITERS + 5 instructions in user
 * space (two to load ITERS, the loop, three to exit), the oracle of the lab's
 * exact counts. Built with -nostdlib -static -DITERS=N. */
	.global _start
_start:
	movz	x0, #(ITERS & 0xffff)
	movk	x0, #((ITERS >> 16) & 0xffff), lsl #16
1:	subs	x0, x0, #1
	b.ne	1b
	mov	x8, #93		/* exit */
	mov	x0, #0
	svc	#0
