package proxy

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// txn is one nf_tables transaction (a netlink batch) written straight
// into a buffer: the messages google/nftables would build, without its
// objects per element and per attribute. At 10,000 services a full sync
// holds 300,000 elements, and the library's objects for them (and the
// garbage collection after them) were most of the proxy's CPU in it.
// Expressions are still encoded by the library (expr.Marshal).
type txn struct {
	table string
	buf   []byte
	seq   uint32
	msgs  int // messages between BATCH_BEGIN and BATCH_END
	last  int // offset of the last message written
	nests []int
	setID uint32
	// The open element list, continued while the elements go to the
	// same set with the same operation.
	elemOp  uint16
	elemSet string
	elemID  uint32
}

const (
	nlmsgHeaderLen = unix.NLMSG_HDRLEN + 4 // and nfgenmsg
	// maxElemList bounds the bytes of one message's element list: it is
	// a netlink attribute, whose length is 16 bits.
	maxElemList = 60000
)

// reset starts a new transaction, its sequence numbers from seq.
func (t *txn) reset(seq uint32) {
	t.buf, t.seq, t.msgs, t.nests, t.elemSet = t.buf[:0], seq, 0, t.nests[:0], ""
	t.header(unix.NFNL_MSG_BATCH_BEGIN, 0, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
}

// grow makes room for n more bytes.
func (t *txn) grow(n int) { t.buf = slices.Grow(t.buf, n) }

// finish ends the batch, asking for an acknowledgement of its last
// message only; it returns the sequence numbers of BATCH_BEGIN and of
// that message.
func (t *txn) finish() (begin, last uint32) {
	t.closeElems()
	flags := binary.NativeEndian.Uint16(t.buf[t.last+6:])
	binary.NativeEndian.PutUint16(t.buf[t.last+6:], flags|unix.NLM_F_ACK)
	lastSeq := binary.NativeEndian.Uint32(t.buf[t.last+8:])
	t.header(unix.NFNL_MSG_BATCH_END, 0, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
	return binary.NativeEndian.Uint32(t.buf[8:]), lastSeq
}

// header appends a message header; its length is set by end.
func (t *txn) header(typ, flags uint16, family uint8, resID uint16) {
	t.last = len(t.buf)
	t.buf = binary.NativeEndian.AppendUint32(t.buf, nlmsgHeaderLen)
	t.buf = binary.NativeEndian.AppendUint16(t.buf, typ)
	t.buf = binary.NativeEndian.AppendUint16(t.buf, unix.NLM_F_REQUEST|flags)
	t.buf = binary.NativeEndian.AppendUint32(t.buf, t.seq)
	t.buf = binary.NativeEndian.AppendUint32(t.buf, 0)
	t.buf = append(t.buf, family, unix.NFNETLINK_V0)
	t.buf = binary.BigEndian.AppendUint16(t.buf, resID)
	t.seq++
}

// begin starts an nf_tables message of the table's family.
func (t *txn) begin(msg uint16, flags uint16) {
	t.closeElems()
	t.header(unix.NFNL_SUBSYS_NFTABLES<<8|msg, flags, unix.NFPROTO_IPV4, 0)
	t.msgs++
}

// end sets the open message's length.
func (t *txn) end() {
	binary.NativeEndian.PutUint32(t.buf[t.last:], uint32(len(t.buf)-t.last))
}

func (t *txn) attr(typ uint16, data []byte) {
	t.attrHeader(typ, len(data))
	t.buf = append(t.buf, data...)
	t.pad()
}

func (t *txn) attrHeader(typ uint16, n int) {
	t.buf = binary.NativeEndian.AppendUint16(t.buf, uint16(unix.NLA_HDRLEN+n))
	t.buf = binary.NativeEndian.AppendUint16(t.buf, typ)
}

func (t *txn) pad() {
	for len(t.buf)%unix.NLA_ALIGNTO != 0 {
		t.buf = append(t.buf, 0)
	}
}

func (t *txn) str(typ uint16, s string) {
	t.attrHeader(typ, len(s)+1)
	t.buf = append(t.buf, s...)
	t.buf = append(t.buf, 0)
	t.pad()
}

func (t *txn) u32(typ uint16, v uint32) {
	t.attrHeader(typ, 4)
	t.buf = binary.BigEndian.AppendUint32(t.buf, v)
}

func (t *txn) u64(typ uint16, v uint64) {
	t.attrHeader(typ, 8)
	t.buf = binary.BigEndian.AppendUint64(t.buf, v)
}

// nest opens a nested attribute, closed by unnest.
func (t *txn) nest(typ uint16) { t.open(typ | unix.NLA_F_NESTED) }

// open opens an attribute holding attributes, typed as given (the
// library does not flag a set's field sizes as nested).
func (t *txn) open(typ uint16) {
	t.nests = append(t.nests, len(t.buf))
	t.attrHeader(typ, 0)
}

func (t *txn) unnest() {
	at := t.nests[len(t.nests)-1]
	t.nests = t.nests[:len(t.nests)-1]
	binary.NativeEndian.PutUint16(t.buf[at:], uint16(len(t.buf)-at))
}

// newTable, delTable: the library's AddTable and DelTable.
func (t *txn) newTable() {
	t.begin(unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE)
	t.str(unix.NFTA_TABLE_NAME, t.table)
	t.u32(unix.NFTA_TABLE_FLAGS, 0)
	t.end()
}

func (t *txn) delTable() {
	t.begin(unix.NFT_MSG_DELTABLE, 0)
	t.str(unix.NFTA_TABLE_NAME, t.table)
	t.u32(unix.NFTA_TABLE_FLAGS, 0)
	t.end()
}

// newChain adds a chain, hooked if hookOf says so.
func (t *txn) newChain(name string) {
	t.begin(unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE)
	t.str(unix.NFTA_CHAIN_TABLE, t.table)
	t.str(unix.NFTA_CHAIN_NAME, name)
	if h, ok := hookOf(name); ok {
		t.nest(unix.NFTA_CHAIN_HOOK)
		t.u32(unix.NFTA_HOOK_HOOKNUM, uint32(*h.hooknum))
		t.u32(unix.NFTA_HOOK_PRIORITY, uint32(*h.priority))
		t.unnest()
		t.str(unix.NFTA_CHAIN_TYPE, string(h.typ))
	}
	t.end()
}

func (t *txn) delChain(name string) {
	t.named(unix.NFT_MSG_DELCHAIN, unix.NFTA_CHAIN_TABLE, unix.NFTA_CHAIN_NAME, name)
}

// flushChain deletes the chain's rules.
func (t *txn) flushChain(name string) {
	t.named(unix.NFT_MSG_DELRULE, unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN, name)
}

func (t *txn) delSet(name string) {
	t.named(unix.NFT_MSG_DELSET, unix.NFTA_SET_TABLE, unix.NFTA_SET_NAME, name)
}

// named writes a message of the table's object name, without flags.
func (t *txn) named(msg, tableAttr, nameAttr uint16, name string) {
	t.begin(msg, 0)
	t.str(tableAttr, t.table)
	t.str(nameAttr, name)
	t.end()
}

// newSet adds s as the library's AddSet does, for the kinds of set the
// proxy makes, and returns its id in the transaction (an anonymous set
// is found by it). constElems is a constant set's number of elements.
func (t *txn) newSet(s *nftables.Set, constElems int) uint32 {
	t.setID++
	name := s.Name
	if s.Anonymous {
		name = "__set%d"
		if s.IsMap {
			name = anonymousMap
		}
	}
	var flags uint32
	for _, f := range []struct {
		on   bool
		flag uint32
	}{{s.Anonymous, unix.NFT_SET_ANONYMOUS}, {s.Constant, unix.NFT_SET_CONSTANT}, {s.Interval, unix.NFT_SET_INTERVAL},
		{s.IsMap, unix.NFT_SET_MAP}, {s.HasTimeout, unix.NFT_SET_TIMEOUT}, {s.Dynamic, unix.NFT_SET_EVAL},
		{s.Concatenation, nftables.NFT_SET_CONCAT}} {
		if f.on {
			flags |= f.flag
		}
	}
	t.begin(unix.NFT_MSG_NEWSET, unix.NLM_F_CREATE)
	t.str(unix.NFTA_SET_TABLE, t.table)
	t.str(unix.NFTA_SET_NAME, name)
	t.u32(unix.NFTA_SET_FLAGS, flags)
	t.u32(unix.NFTA_SET_KEY_TYPE, s.KeyType.GetNFTMagic())
	t.u32(unix.NFTA_SET_KEY_LEN, s.KeyType.Bytes)
	t.u32(unix.NFTA_SET_ID, t.setID)
	if s.IsMap {
		if s.DataType.GetNFTMagic() == nftables.TypeVerdict.GetNFTMagic() {
			t.u32(unix.NFTA_SET_DATA_TYPE, uint32(unix.NFT_DATA_VERDICT))
		} else {
			t.u32(unix.NFTA_SET_DATA_TYPE, s.DataType.GetNFTMagic())
		}
		t.u32(unix.NFTA_SET_DATA_LEN, s.DataType.Bytes)
	}
	if s.HasTimeout && s.Timeout != 0 {
		t.u64(unix.NFTA_SET_TIMEOUT, uint64(s.Timeout/time.Millisecond))
	}
	if s.Constant {
		t.nest(unix.NFTA_SET_DESC)
		t.u32(unix.NFTA_DATA_VALUE, uint32(constElems))
		t.unnest()
	}
	if s.Concatenation {
		t.nest(unix.NFTA_SET_DESC)
		t.nest(nftables.NFTA_SET_DESC_CONCAT)
		for _, f := range nftables.ConcatSetTypeElements(s.KeyType) {
			t.open(unix.NFTA_SET_DESC_SIZE)
			t.u32(unix.NFTA_DATA_VALUE, f.Bytes)
			t.unnest()
		}
		t.unnest()
		t.unnest()
	}
	if s.Anonymous || s.Constant || s.Interval || s.KeyByteOrder == binaryutil.BigEndian {
		// The key's byte order for nft, as the library and nft write it.
		t.attr(unix.NFTA_SET_USERDATA, []byte{0 /* NFTNL_UDATA_SET_KEYBYTEORDER */, 4, 2, 0, 0, 0})
	}
	t.end()
	return t.setID
}

// Element operations.
const (
	elemAdd = unix.NFT_MSG_NEWSETELEM
	elemDel = unix.NFT_MSG_DELSETELEM
)

// elems continues the open element list if it is for op on set (id, if
// not 0, finds a set of this transaction) and has room, or opens one.
func (t *txn) elems(op uint16, set string, id uint32) {
	if t.elemSet == set && t.elemOp == op && t.elemID == id && len(t.buf)-t.nests[len(t.nests)-1] < maxElemList {
		return
	}
	flags := uint16(0)
	if op == elemAdd {
		flags = unix.NLM_F_CREATE
	}
	t.begin(op, flags)
	t.str(unix.NFTA_SET_ELEM_LIST_TABLE, t.table)
	t.str(unix.NFTA_SET_ELEM_LIST_SET, set)
	if id != 0 {
		t.u32(unix.NFTA_SET_ELEM_LIST_SET_ID, id)
	}
	t.nest(unix.NFTA_SET_ELEM_LIST_ELEMENTS)
	t.elemOp, t.elemSet, t.elemID = op, set, id
}

// closeElems ends the open element list's message.
func (t *txn) closeElems() {
	if t.elemSet == "" {
		return
	}
	t.unnest()
	t.end()
	t.elemSet = ""
}

// elem appends an element to the open list: its key, the interval-end
// flag, and its data (data or verdict, or neither).
func (t *txn) elem(key []byte, intervalEnd bool, data []byte, verdict *Verdict) {
	t.nest(unix.NFTA_LIST_ELEM)
	if intervalEnd {
		t.u32(unix.NFTA_SET_ELEM_FLAGS, unix.NFT_SET_ELEM_INTERVAL_END)
	}
	t.nest(unix.NFTA_SET_ELEM_KEY)
	t.attr(unix.NFTA_DATA_VALUE, key)
	t.unnest()
	switch {
	case verdict != nil:
		t.nest(unix.NFTA_SET_ELEM_DATA)
		t.verdict(*verdict)
		t.unnest()
	case len(data) > 0:
		t.nest(unix.NFTA_SET_ELEM_DATA)
		t.attr(unix.NFTA_DATA_VALUE, data)
		t.unnest()
	}
	t.unnest()
}

// verdict is an NFTA_DATA_VERDICT attribute.
func (t *txn) verdict(v Verdict) {
	t.nest(unix.NFTA_DATA_VERDICT)
	t.u32(unix.NFTA_VERDICT_CODE, uint32(verdictCode(v)))
	if v.Chain != "" {
		t.str(unix.NFTA_VERDICT_CHAIN, v.Chain)
	}
	t.unnest()
}

func verdictCode(v Verdict) int32 { return int32(verdictExpr(v).Kind) }

// newRule appends a rule of exprs to chain.
func (t *txn) newRule(chain string, exprs []expr.Any) error {
	t.begin(unix.NFT_MSG_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_APPEND)
	t.str(unix.NFTA_RULE_TABLE, t.table)
	t.str(unix.NFTA_RULE_CHAIN, chain)
	t.nest(unix.NFTA_RULE_EXPRESSIONS)
	for _, e := range exprs {
		data, err := expr.Marshal(unix.NFPROTO_IPV4, e)
		if err != nil {
			return fmt.Errorf("rule of %s: %w", chain, err)
		}
		t.attr(unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED, data)
	}
	t.unnest()
	t.end()
	return nil
}

// message is the message of the batch with sequence number seq, or nil.
func (t *txn) message(seq uint32) []byte {
	for off := 0; off+nlmsgHeaderLen <= len(t.buf); {
		n := int(binary.NativeEndian.Uint32(t.buf[off:]))
		if n < nlmsgHeaderLen || off+n > len(t.buf) {
			return nil
		}
		if binary.NativeEndian.Uint32(t.buf[off+8:]) == seq {
			return t.buf[off : off+n]
		}
		off += nlmsgAlign(n)
	}
	return nil
}
