/*
 * ntlist.h - the WDK's intrusive list helpers, with wdm.h's names, signatures
 * and semantics.
 *
 * A LIST_ENTRY list is circular and doubly linked through a head that is not
 * an element: an empty list is a head whose Flink and Blink point at itself,
 * so insertion and removal never test for NULL. A SINGLE_LIST_ENTRY list is
 * a NULL-terminated stack hanging off a head's Next. Elements are embedded in
 * the owning structure and recovered with CONTAINING_RECORD (ntdef.h).
 *
 * wdm.h (WDK 8 and later) adds fast-fail checks that bug-check with
 * KERNEL_SECURITY_CHECK_FAILURE when a neighbour's back link is corrupt; these
 * versions match its NO_KERNEL_LIST_ENTRY_CHECKS variant. None of these
 * helpers lock anything: the caller serialises access to the list.
 * See "Singly and Doubly Linked Lists" in the WDK kernel-mode driver docs.
 */
#ifndef NTLIST_H
#define NTLIST_H

#include "ntdef.h"

/* Make ListHead an empty list: both links point back at the head. */
FORCEINLINE VOID InitializeListHead(_Out_ PLIST_ENTRY ListHead)
{
    ListHead->Flink = ListHead->Blink = ListHead;
}

/* TRUE when the list holds no entries, i.e. the head points at itself. */
_Must_inspect_result_ FORCEINLINE BOOLEAN IsListEmpty(_In_ const LIST_ENTRY *ListHead)
{
    return (BOOLEAN)(ListHead->Flink == ListHead);
}

/*
 * Unlink Entry from whatever list holds it. Returns TRUE if that list is now
 * empty: the two neighbours left behind are the same node, which can only be
 * the head. Entry's own links are left stale, not reset.
 */
FORCEINLINE BOOLEAN RemoveEntryList(_In_ PLIST_ENTRY Entry)
{
    PLIST_ENTRY Flink = Entry->Flink;
    PLIST_ENTRY Blink = Entry->Blink;

    Blink->Flink = Flink;
    Flink->Blink = Blink;
    return (BOOLEAN)(Flink == Blink);
}

/*
 * Unlink and return the first entry. On an empty list this returns ListHead
 * itself and changes nothing, so callers check IsListEmpty first.
 */
FORCEINLINE PLIST_ENTRY RemoveHeadList(_Inout_ PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Flink;
    PLIST_ENTRY Flink = Entry->Flink;

    ListHead->Flink = Flink;
    Flink->Blink = ListHead;
    return Entry;
}

/* Unlink and return the last entry; ListHead itself if the list is empty. */
FORCEINLINE PLIST_ENTRY RemoveTailList(_Inout_ PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Blink;
    PLIST_ENTRY Blink = Entry->Blink;

    ListHead->Blink = Blink;
    Blink->Flink = ListHead;
    return Entry;
}

/* Link Entry in as the new last element (FIFO when paired with RemoveHeadList). */
FORCEINLINE VOID InsertTailList(_Inout_ PLIST_ENTRY ListHead, _Out_ PLIST_ENTRY Entry)
{
    PLIST_ENTRY Blink = ListHead->Blink;

    Entry->Flink = ListHead;
    Entry->Blink = Blink;
    Blink->Flink = Entry;
    ListHead->Blink = Entry;
}

/* Link Entry in as the new first element (LIFO when paired with RemoveHeadList). */
FORCEINLINE VOID InsertHeadList(_Inout_ PLIST_ENTRY ListHead, _Out_ PLIST_ENTRY Entry)
{
    PLIST_ENTRY Flink = ListHead->Flink;

    Entry->Flink = Flink;
    Entry->Blink = ListHead;
    Flink->Blink = Entry;
    ListHead->Flink = Entry;
}

/*
 * Splice a whole chain onto the tail of ListHead. ListToAppend is the FIRST
 * ENTRY of a circular list that has no head, not a list head: every node on
 * its ring, ListToAppend included, becomes an element. To move the entries of
 * a headed list B, detach its head first:
 *     PLIST_ENTRY First = B.Flink;      (B must not be empty)
 *     RemoveEntryList(&B);
 *     AppendTailList(&A, First);
 */
FORCEINLINE VOID AppendTailList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PLIST_ENTRY ListToAppend)
{
    PLIST_ENTRY ListEnd = ListHead->Blink;

    ListHead->Blink->Flink = ListToAppend;
    ListHead->Blink = ListToAppend->Blink;
    ListToAppend->Blink->Flink = ListHead;
    ListToAppend->Blink = ListEnd;
}

/* Pop the first entry of a singly linked list; NULL if it is empty. */
FORCEINLINE PSINGLE_LIST_ENTRY PopEntryList(_Inout_ PSINGLE_LIST_ENTRY ListHead)
{
    PSINGLE_LIST_ENTRY FirstEntry = ListHead->Next;

    if (FirstEntry != NULL)
        ListHead->Next = FirstEntry->Next;
    return FirstEntry;
}

/* Push Entry onto the front of a singly linked list. */
FORCEINLINE VOID PushEntryList(_Inout_ PSINGLE_LIST_ENTRY ListHead, _Inout_ PSINGLE_LIST_ENTRY Entry)
{
    Entry->Next = ListHead->Next;
    ListHead->Next = Entry;
}

#endif
