import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldDto {
  @ApiProperty({ example: 'name' }) name!: string;
  @ApiProperty({ example: 'text' }) type!: string;
}

export class TableDto {
  @ApiProperty({ example: 'products', description: '`schema.table`, or `table` for schema public' })
  table!: string;
  @ApiProperty({ example: 42 }) documents!: number;
  @ApiProperty({ type: [FieldDto] }) fields!: FieldDto[];
}

export class DocumentDto {
  @ApiProperty({ example: '7', description: 'primary key; JSON array for composite keys' })
  id!: string;
  @ApiProperty({ example: 'products' }) table!: string;
  @ApiProperty({ example: { id: 7, name: 'Espresso machine', price: '249.90' } })
  source!: Record<string, unknown>;
}

export class HitDto {
  @ApiProperty({ example: '7' }) id!: string;
  @ApiProperty({ example: 1.38, nullable: true, type: Number }) score!: number | null;
  @ApiProperty({ example: { id: 7, name: 'Espresso machine' } }) source!: Record<string, unknown>;
}

export class SearchResponseDto {
  @ApiProperty({ example: 1 }) total!: number;
  @ApiProperty({ enum: ['eq', 'gte'] }) totalRelation!: 'eq' | 'gte';
  @ApiProperty({ type: [HitDto] }) hits!: HitDto[];
  @ApiPropertyOptional({ nullable: true, type: String, description: 'reserved for cursor paging' })
  nextCursor!: string | null;
  @ApiProperty({ example: 3 }) tookMs!: number;
}

export class ErrorDto {
  @ApiProperty({ example: 404 }) statusCode!: number;
  @ApiProperty({ example: 'Not Found' }) error!: string;
  @ApiProperty({ example: 'table "nope" is not synced; GET /v1/tables lists the synced tables' })
  message!: string;
}
