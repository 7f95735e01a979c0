/*
 * test_list.c - host tests for the WDK list helpers in include/ntlist.h.
 *
 * Nodes carry a value and embed their LIST_ENTRY away from offset 0, so a
 * broken CONTAINING_RECORD would show. After every operation expect_list()
 * walks the ring both ways, checking the order and that each node's
 * Flink->Blink and Blink->Flink lead back to it.
 */
#include "ntlist.h"

#include "tests/host/harness.h"

typedef struct NODE {
    int Value;
    LIST_ENTRY Link;
    SINGLE_LIST_ENTRY SLink;
} NODE;

#define VALUE(e) (CONTAINING_RECORD((e), NODE, Link)->Value)

/* Check that head holds exactly want[0..n) in order, with intact links. */
static void expect_list_at(const char *file, int line, PLIST_ENTRY head,
                           const int *want, int n)
{
    PLIST_ENTRY e = head;
    int i;

    for (i = 0; i <= n; i++, e = e->Flink) {
        if (!check(e->Flink->Blink == e && e->Blink->Flink == e, file, line,
                   "links broken at position %d", i))
            return;
        if (i > 0 && !check(VALUE(e) == want[i - 1], file, line,
                            "forward walk, position %d: expected %d, got %d",
                            i - 1, want[i - 1], VALUE(e)))
            return;
    }
    if (!check(e == head, file, line, "forward walk: more than %d entries", n))
        return;
    for (i = n - 1, e = head->Blink; i >= 0; i--, e = e->Blink)
        if (!check(e != head && VALUE(e) == want[i], file, line,
                   "backward walk, position %d: expected %d", i, want[i]))
            return;
    check(e == head && (n > 0) == !IsListEmpty(head), file, line,
          "backward walk or IsListEmpty disagrees with %d entries", n);
}

#define EXPECT_LIST(head, ...) do {                                         \
        static const int want_[] = { 0, __VA_ARGS__ };                      \
        expect_list_at(__FILE__, __LINE__, (head), want_ + 1,               \
                       (int)ARRAYSIZE(want_) - 1);                          \
    } while (0)

static NODE n[8];

static void init_nodes(void)
{
    for (int i = 0; i < 8; i++) {
        n[i].Value = i;
        n[i].Link.Flink = n[i].Link.Blink = NULL;  /* catch use before insert */
    }
}

static void test_init_and_insert(void)
{
    LIST_ENTRY head;

    init_nodes();
    InitializeListHead(&head);
    EXPECT_PTR(head.Flink, &head);
    EXPECT_PTR(head.Blink, &head);
    EXPECT_INT(IsListEmpty(&head), TRUE);
    EXPECT_LIST(&head);

    InsertTailList(&head, &n[1].Link);
    EXPECT_INT(IsListEmpty(&head), FALSE);
    EXPECT_LIST(&head, 1);
    InsertTailList(&head, &n[2].Link);
    InsertTailList(&head, &n[3].Link);
    EXPECT_LIST(&head, 1, 2, 3);
    InsertHeadList(&head, &n[0].Link);
    EXPECT_LIST(&head, 0, 1, 2, 3);
    InsertHeadList(&head, &n[4].Link);
    EXPECT_LIST(&head, 4, 0, 1, 2, 3);
}

static void test_remove_head_tail(void)
{
    LIST_ENTRY head;

    init_nodes();
    InitializeListHead(&head);
    for (int i = 0; i < 4; i++)
        InsertTailList(&head, &n[i].Link);

    EXPECT_PTR(RemoveHeadList(&head), &n[0].Link);
    EXPECT_LIST(&head, 1, 2, 3);
    EXPECT_PTR(RemoveTailList(&head), &n[3].Link);
    EXPECT_LIST(&head, 1, 2);
    EXPECT_PTR(RemoveTailList(&head), &n[2].Link);
    EXPECT_PTR(RemoveHeadList(&head), &n[1].Link);
    EXPECT_LIST(&head);

    /* Without fast-fail checks, removing from an empty list hands back the
     * head itself and leaves the list intact. */
    EXPECT_PTR(RemoveHeadList(&head), &head);
    EXPECT_LIST(&head);
    EXPECT_PTR(RemoveTailList(&head), &head);
    EXPECT_LIST(&head);
}

static void test_remove_entry(void)
{
    LIST_ENTRY head;

    init_nodes();
    InitializeListHead(&head);
    for (int i = 0; i < 4; i++)
        InsertTailList(&head, &n[i].Link);

    EXPECT_INT(RemoveEntryList(&n[2].Link), FALSE);   /* middle */
    EXPECT_LIST(&head, 0, 1, 3);
    EXPECT_INT(RemoveEntryList(&n[0].Link), FALSE);   /* first */
    EXPECT_LIST(&head, 1, 3);
    EXPECT_INT(RemoveEntryList(&n[3].Link), FALSE);   /* last, one left */
    EXPECT_LIST(&head, 1);
    EXPECT_INT(RemoveEntryList(&n[1].Link), TRUE);    /* now empty */
    EXPECT_LIST(&head);

    /* Two entries: removing either one leaves the list non-empty. */
    InsertTailList(&head, &n[5].Link);
    InsertTailList(&head, &n[6].Link);
    EXPECT_INT(RemoveEntryList(&n[6].Link), FALSE);
    EXPECT_INT(RemoveEntryList(&n[5].Link), TRUE);
    EXPECT_INT(IsListEmpty(&head), TRUE);
}

/* A headless ring of nodes first..last: what AppendTailList expects. */
static PLIST_ENTRY make_ring(int first, int last)
{
    InitializeListHead(&n[first].Link);
    for (int i = first + 1; i <= last; i++)
        InsertTailList(&n[first].Link, &n[i].Link);
    return &n[first].Link;
}

static void test_append(void)
{
    LIST_ENTRY a, b;

    init_nodes();
    InitializeListHead(&a);
    InsertTailList(&a, &n[0].Link);
    InsertTailList(&a, &n[1].Link);
    AppendTailList(&a, make_ring(2, 4));
    EXPECT_LIST(&a, 0, 1, 2, 3, 4);
    AppendTailList(&a, make_ring(5, 5));              /* a ring of one */
    EXPECT_LIST(&a, 0, 1, 2, 3, 4, 5);

    init_nodes();
    InitializeListHead(&a);                           /* onto an empty list */
    AppendTailList(&a, make_ring(1, 3));
    EXPECT_LIST(&a, 1, 2, 3);

    /* Moving a headed list: detach its head, then append the first entry. */
    init_nodes();
    InitializeListHead(&a);
    InsertTailList(&a, &n[0].Link);
    InitializeListHead(&b);
    InsertTailList(&b, &n[6].Link);
    InsertTailList(&b, &n[7].Link);
    PLIST_ENTRY first = b.Flink;
    RemoveEntryList(&b);
    AppendTailList(&a, first);
    EXPECT_LIST(&a, 0, 6, 7);
}

static void test_single_list(void)
{
    SINGLE_LIST_ENTRY head = { NULL };

    init_nodes();
    EXPECT_PTR(PopEntryList(&head), NULL);
    EXPECT_PTR(head.Next, NULL);

    PushEntryList(&head, &n[1].SLink);
    EXPECT_PTR(head.Next, &n[1].SLink);
    EXPECT_PTR(n[1].SLink.Next, NULL);
    PushEntryList(&head, &n[2].SLink);
    PushEntryList(&head, &n[3].SLink);
    EXPECT_PTR(n[3].SLink.Next, &n[2].SLink);

    PSINGLE_LIST_ENTRY e = PopEntryList(&head);       /* LIFO order */
    EXPECT_PTR(e, &n[3].SLink);
    EXPECT_INT(CONTAINING_RECORD(e, NODE, SLink)->Value, 3);
    EXPECT_PTR(PopEntryList(&head), &n[2].SLink);
    EXPECT_PTR(PopEntryList(&head), &n[1].SLink);
    EXPECT_PTR(head.Next, NULL);
    EXPECT_PTR(PopEntryList(&head), NULL);
}

int main(void)
{
    test_init_and_insert();
    test_remove_head_tail();
    test_remove_entry();
    test_append();
    test_single_list();
    return finish();
}
