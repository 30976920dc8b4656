/*
 * dtype.c - the dtype table (format.md §2.3).
 *
 * One row per dtype: torch's name, the element size (torch's rule: complex
 * is finfo.bits / 4, floating finfo.bits / 8, bool 1, else iinfo.bits / 8;
 * packed types such as quint4x2 and float4_e2m1fn_x2 count one byte per
 * element), the legacy storage class that torch.save writes for it (only
 * the dtypes of storage.py's "no longer add dtypes" map have one; the rest
 * go through UntypedStorage), and the ScalarType name TorchScript's C++
 * pickler uses to form "<ScalarType>Storage". The tables are constant, so
 * every lookup is safe from any thread.
 */
#include "dtype.h"

#include <stdbool.h>
#include <string.h>

struct dtype_row {
	const char *name;        /* torch.<name> */
	size_t size;             /* bytes per element */
	const char *storage;     /* legacy storage class, or NULL */
	const char *scalar_type; /* c10::ScalarType name */
};

static const struct dtype_row dtype_rows[PT_DT_COUNT] = {
	[PT_DT_INVALID] = { "invalid", 0, NULL, NULL },
	[PT_DT_FLOAT64] = { "float64", 8, "DoubleStorage", "Double" },
	[PT_DT_FLOAT32] = { "float32", 4, "FloatStorage", "Float" },
	[PT_DT_FLOAT16] = { "float16", 2, "HalfStorage", "Half" },
	[PT_DT_BFLOAT16] = { "bfloat16", 2, "BFloat16Storage", "BFloat16" },
	[PT_DT_INT64] = { "int64", 8, "LongStorage", "Long" },
	[PT_DT_INT32] = { "int32", 4, "IntStorage", "Int" },
	[PT_DT_INT16] = { "int16", 2, "ShortStorage", "Short" },
	[PT_DT_INT8] = { "int8", 1, "CharStorage", "Char" },
	[PT_DT_UINT8] = { "uint8", 1, "ByteStorage", "Byte" },
	[PT_DT_BOOL] = { "bool", 1, "BoolStorage", "Bool" },
	[PT_DT_COMPLEX32] = { "complex32", 4, NULL, "ComplexHalf" },
	[PT_DT_COMPLEX64] = { "complex64", 8, "ComplexFloatStorage", "ComplexFloat" },
	[PT_DT_COMPLEX128] = { "complex128", 16, "ComplexDoubleStorage", "ComplexDouble" },
	[PT_DT_QINT8] = { "qint8", 1, "QInt8Storage", "QInt8" },
	[PT_DT_QUINT8] = { "quint8", 1, "QUInt8Storage", "QUInt8" },
	[PT_DT_QINT32] = { "qint32", 4, "QInt32Storage", "QInt32" },
	[PT_DT_QUINT4X2] = { "quint4x2", 1, "QUInt4x2Storage", "QUInt4x2" },
	[PT_DT_QUINT2X4] = { "quint2x4", 1, "QUInt2x4Storage", "QUInt2x4" },
	[PT_DT_FLOAT8_E5M2] = { "float8_e5m2", 1, NULL, "Float8_e5m2" },
	[PT_DT_FLOAT8_E4M3FN] = { "float8_e4m3fn", 1, NULL, "Float8_e4m3fn" },
	[PT_DT_FLOAT8_E5M2FNUZ] = { "float8_e5m2fnuz", 1, NULL, "Float8_e5m2fnuz" },
	[PT_DT_FLOAT8_E4M3FNUZ] = { "float8_e4m3fnuz", 1, NULL, "Float8_e4m3fnuz" },
	[PT_DT_FLOAT8_E8M0FNU] = { "float8_e8m0fnu", 1, NULL, "Float8_e8m0fnu" },
	[PT_DT_FLOAT4_E2M1FN_X2] = { "float4_e2m1fn_x2", 1, NULL, "Float4_e2m1fn_x2" },
	[PT_DT_UINT16] = { "uint16", 2, NULL, "UInt16" },
	[PT_DT_UINT32] = { "uint32", 4, NULL, "UInt32" },
	[PT_DT_UINT64] = { "uint64", 8, NULL, "UInt64" },
	[PT_DT_BITS8] = { "bits8", 1, NULL, "Bits8" },
	[PT_DT_BITS16] = { "bits16", 2, NULL, "Bits16" },
	[PT_DT_BITS1X8] = { "bits1x8", 1, NULL, "Bits1x8" },
	[PT_DT_BITS2X4] = { "bits2x4", 1, NULL, "Bits2x4" },
	[PT_DT_BITS4X2] = { "bits4x2", 1, NULL, "Bits4x2" },
};

/* torch's short aliases of dtype names (torch.float is torch.float32, ...). */
static const struct {
	const char *alias;
	enum pt_dtype dt;
} dtype_aliases[] = {
	{ "float", PT_DT_FLOAT32 },   { "double", PT_DT_FLOAT64 },
	{ "half", PT_DT_FLOAT16 },    { "long", PT_DT_INT64 },
	{ "int", PT_DT_INT32 },       { "short", PT_DT_INT16 },
	{ "cfloat", PT_DT_COMPLEX64 }, { "cdouble", PT_DT_COMPLEX128 },
	{ "chalf", PT_DT_COMPLEX32 },
};

static bool dtype_valid(enum pt_dtype dt)
{
	return dt > PT_DT_INVALID && dt < PT_DT_COUNT;
}

const char *pt_dtype_name(enum pt_dtype dt)
{
	return dtype_valid(dt) ? dtype_rows[dt].name : "invalid";
}

size_t pt_dtype_size(enum pt_dtype dt)
{
	return dtype_valid(dt) ? dtype_rows[dt].size : 0;
}

unsigned pt_dtype_swap_unit(enum pt_dtype dt)
{
	size_t el = pt_dtype_size(dt);

	if (dt == PT_DT_COMPLEX32 || dt == PT_DT_COMPLEX64 || dt == PT_DT_COMPLEX128)
		return (unsigned)(el / 2);
	return (unsigned)el;
}

enum pt_dtype pt_dtype_from_name(const char *name)
{
	size_t i;

	if (!name)
		return PT_DT_INVALID;
	for (i = PT_DT_INVALID + 1; i < PT_DT_COUNT; i++)
		if (strcmp(dtype_rows[i].name, name) == 0)
			return (enum pt_dtype)i;
	for (i = 0; i < sizeof(dtype_aliases) / sizeof(dtype_aliases[0]); i++)
		if (strcmp(dtype_aliases[i].alias, name) == 0)
			return dtype_aliases[i].dt;
	return PT_DT_INVALID;
}

enum pt_dtype pt_dtype_from_storage_class(const char *name)
{
	static const char suffix[] = "Storage";
	size_t len, slen = sizeof(suffix) - 1;
	size_t i;

	if (!name)
		return PT_DT_INVALID;
	if (strcmp(name, "UntypedStorage") == 0)
		return PT_DT_UINT8;
	for (i = PT_DT_INVALID + 1; i < PT_DT_COUNT; i++)
		if (dtype_rows[i].storage && strcmp(dtype_rows[i].storage, name) == 0)
			return (enum pt_dtype)i;
	/* TorchScript: toString(ScalarType) + "Storage". */
	len = strlen(name);
	if (len <= slen || strcmp(name + len - slen, suffix) != 0)
		return PT_DT_INVALID;
	for (i = PT_DT_INVALID + 1; i < PT_DT_COUNT; i++) {
		const char *st = dtype_rows[i].scalar_type;

		if (strlen(st) == len - slen && memcmp(st, name, len - slen) == 0)
			return (enum pt_dtype)i;
	}
	return PT_DT_INVALID;
}

const char *pt_dtype_storage_class(enum pt_dtype dt)
{
	return dtype_valid(dt) ? dtype_rows[dt].storage : NULL;
}
